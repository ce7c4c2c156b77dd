import { describe, expect, it } from "vitest";
import {
  CreateProjectBodySchema,
  CreateTaskBodySchema,
  ListTasksQuerySchema,
  PatchProjectBodySchema,
  PatchTaskBodySchema,
} from "../../app/lib/api/schemas";
import {
  MULTI_LINE_PATTERN,
  multiLineText,
  SINGLE_LINE_PATTERN,
  singleLineText,
  textProblem,
  visibleText,
} from "../../app/lib/domain/text";
import { TokenNameSchema } from "../../app/lib/tokens/tokens.server";
import { routesOpenApiDocument } from "../support/kit";

const hex = (cp: number) => `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

const C0 = range(0x00, 0x1f);
const C1_AND_DEL = range(0x7f, 0x9f);
const BIDI = [...range(0x202a, 0x202e), ...range(0x2066, 0x2069), 0x200e, 0x200f, 0x061c];
const ORDINARY = [
  "Fix the login bug",
  "Café crème, naïve façade — “quoted”",
  "修复登录错误 ログインのバグ 로그인 버그",
  "שלום עולם",
  "مرحبا بالعالم",
  "deploy 🚀 👩‍💻 👨‍👩‍👧 🇫🇷 🏴󠁧󠁢󠁳󠁣󠁴󠁿",
  "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 and Ελληνικά and Кириллица",
];

/** The messages of a failed parse, or [] when it succeeds. */
function problems(
  schema: { safeParse(v: unknown): { success: boolean; error?: { issues: { message: string }[] } } },
  value: unknown,
) {
  const result = schema.safeParse(value);
  return result.success ? [] : result.error!.issues.map((i) => i.message);
}

/** The `path` of each issue, as api.md's error.details writes it. */
function paths(
  schema: { safeParse(v: unknown): { success: boolean; error?: { issues: { path: PropertyKey[] }[] } } },
  value: unknown,
) {
  const result = schema.safeParse(value);
  return result.success ? [] : result.error!.issues.map((i) => i.path.join("."));
}

describe("single-line text", () => {
  const title = singleLineText(180);

  it("refuses every C0 and C1 control, naming its code point", () => {
    for (const cp of [...C0, ...C1_AND_DEL]) {
      const value = `a${String.fromCodePoint(cp)}b`;
      expect(problems(title, value), hex(cp)).toEqual([`Must not contain control characters (found ${hex(cp)})`]);
      expect(SINGLE_LINE_PATTERN.test(value), hex(cp)).toBe(false);
    }
    expect(problems(title, "\u001b[31mred")).toEqual(["Must not contain control characters (found U+001B)"]);
  });

  it("refuses each bidirectional override, embedding, isolate and mark, and the line separators", () => {
    for (const cp of BIDI) {
      const value = `invoice${String.fromCodePoint(cp)}fdp.exe`;
      expect(problems(title, value), hex(cp)).toEqual([
        `Must not contain bidirectional formatting characters (found ${hex(cp)})`,
      ]);
      expect(SINGLE_LINE_PATTERN.test(value), hex(cp)).toBe(false);
    }
    expect(problems(title, "\u202e")).toEqual(["Must not contain bidirectional formatting characters (found U+202E)"]);
    for (const cp of [0x2028, 0x2029])
      expect(problems(title, `a${String.fromCodePoint(cp)}b`)).toEqual([`Must be a single line (found ${hex(cp)})`]);
  });

  it("accepts ordinary Unicode: accents, CJK, Hebrew and Arabic letters, emoji with joiners and tags, astral letters", () => {
    for (const value of ORDINARY) {
      expect(problems(title, value), value).toEqual([]);
      expect(title.parse(value)).toBe(value);
    }
  });

  it("trims surrounding whitespace first, so a trailing newline is dropped rather than stored", () => {
    expect(title.parse("  title\n")).toBe("title");
    expect(title.parse("\ttitle ")).toBe("title");
    expect(problems(title, "ti\ntle")).toEqual(["Must not contain control characters (found U+000A)"]);
  });

  it("refuses a lone surrogate, accepts a surrogate pair", () => {
    expect(problems(title, "a\ud800b")).toEqual(["Must be valid Unicode text (lone surrogate U+D800)"]);
    expect(problems(title, "a\udfffb")).toEqual(["Must be valid Unicode text (lone surrogate U+DFFF)"]);
    expect(problems(title, "\ud83d\ude80")).toEqual([]);
  });

  it("still checks emptiness and length, with its own messages when given", () => {
    expect(problems(title, "   ")).toEqual(["Must not be empty"]);
    expect(problems(title, "x".repeat(181))).toEqual(["Must be at most 180 characters"]);
    expect(
      problems(singleLineText(5, { required: "Enter a name", empty: "Enter a name", tooLong: "Too long" }), undefined),
    ).toEqual(["Enter a name"]);
  });

  it("the pattern and the message agree on every code point of the Basic Multilingual Plane", () => {
    const disagreements: string[] = [];
    let refused = 0;
    for (let cp = 0; cp <= 0xffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const value = `a${String.fromCharCode(cp)}b`;
      const single = textProblem(value, "single-line") === null;
      if (!single) refused++;
      if (SINGLE_LINE_PATTERN.test(value) !== single) disagreements.push(`single ${hex(cp)}`);
      if (MULTI_LINE_PATTERN.test(value) !== (textProblem(value, "multi-line") === null)) disagreements.push(`multi ${hex(cp)}`);
    }
    expect(disagreements).toEqual([]);
    // 32 C0 + DEL + 32 C1 + 12 bidirectional + 2 separators: nothing else in the plane is refused.
    expect(refused).toBe(32 + 1 + 32 + 12 + 2);
  });
});

describe("multi-line text", () => {
  const description = multiLineText(50_000);

  it("keeps tab, LF and CRLF as they are", () => {
    for (const value of ["line one\nline two", "a\tb", "windows\r\nlines\r\n", "```\n\tcode\n```\n", "\n\n"]) {
      expect(description.parse(value)).toBe(value);
    }
  });

  it("refuses every other C0 and C1 control, and a CR that is not part of CRLF", () => {
    for (const cp of [...C0, ...C1_AND_DEL].filter((c) => c !== 0x09 && c !== 0x0a && c !== 0x0d)) {
      expect(problems(description, `a${String.fromCodePoint(cp)}b`), hex(cp)).toEqual([
        `Must not contain control characters (found ${hex(cp)})`,
      ]);
    }
    const crMessage = "Must not contain a carriage return except in a CRLF line break (found U+000D)";
    for (const value of ["rm -rf ~\rsafe", "end\r", "\r\r\n", "a\n\rb"])
      expect(problems(description, value), JSON.stringify(value)).toEqual([crMessage]);
    expect(problems(description, "\u001b]8;;https://evil\u0007link")).toEqual([
      "Must not contain control characters (found U+001B)",
    ]);
  });

  it("accepts ordinary Unicode and right-to-left prose with its directional marks", () => {
    for (const value of [...ORDINARY, "שלום (C++)\u200F\nمرحبا \u2067abc\u2069", "para one\u2029para two"]) {
      expect(problems(description, value), value).toEqual([]);
    }
  });

  it("refuses a lone surrogate", () => {
    expect(problems(description, "x\udc00")).toEqual(["Must be valid Unicode text (lone surrogate U+DC00)"]);
  });

  it("checks a 100 000-character plan in linear time", () => {
    const plan = multiLineText(200_000);
    const big = "- step\tone\r\n".repeat(9_000);
    const started = performance.now();
    expect(plan.safeParse(big).success).toBe(true);
    expect(plan.safeParse(`${big}\r`).success).toBe(false);
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe("the API schemas and the token name use the rule", () => {
  const BAD = ["a\u0000b", "\u001b[31m", "\u202e", "a\u009bb"];

  it("refuses control and bidirectional characters in every single-line field, naming the field", () => {
    for (const bad of BAD) {
      expect(paths(CreateTaskBodySchema, { title: bad }), bad).toEqual(["title"]);
      expect(paths(CreateTaskBodySchema, { title: "ok", labels: ["fine", bad] }), bad).toEqual(["labels.1"]);
      expect(paths(CreateTaskBodySchema, { title: "ok", acceptance_criteria: [bad] }), bad).toEqual(["acceptance_criteria.0"]);
      expect(paths(CreateTaskBodySchema, { title: "ok", branch: `feat/${bad}` }), bad).toContain("branch");
      expect(paths(CreateTaskBodySchema, { title: "ok", repo: `acme/${bad}` }), bad).toEqual(["repo"]);
      expect(paths(PatchTaskBodySchema, { title: bad }), bad).toEqual(["title"]);
      expect(paths(PatchTaskBodySchema, { labels: [bad] }), bad).toEqual(["labels.0"]);
      expect(paths(CreateProjectBodySchema, { name: bad }), bad).toEqual(["name"]);
      expect(paths(CreateProjectBodySchema, { name: "ok", repo_url: `https://git.example.com/x/${bad}` }), bad).toEqual([
        "repo_url",
      ]);
      expect(paths(PatchProjectBodySchema, { name: bad }), bad).toEqual(["name"]);
      expect(paths(PatchProjectBodySchema, { settings: { deploy_default_branch: `main${bad}` } }), bad).toContain(
        "settings.deploy_default_branch",
      );
      expect(paths(ListTasksQuerySchema, { q: bad }), bad).toEqual(["q"]);
      expect(paths(ListTasksQuerySchema, { label: bad }), bad).toEqual(["label"]);
      expect(problems(TokenNameSchema, `ci${bad}`).length, bad).toBe(1);
    }
    expect(problems(TokenNameSchema, "ci\u202ebot")).toEqual([
      "Must not contain bidirectional formatting characters (found U+202E)",
    ]);
  });

  it("refuses controls in multi-line fields but keeps newlines and bidirectional prose there", () => {
    expect(paths(CreateTaskBodySchema, { title: "ok", description: "a\u001b[2Jb" })).toEqual(["description"]);
    expect(paths(PatchTaskBodySchema, { plan_markdown: "step\u0000" })).toEqual(["plan_markdown"]);
    expect(paths(PatchTaskBodySchema, { planMarkdown: "step\u0085" })).toEqual(["planMarkdown"]);
    expect(paths(CreateProjectBodySchema, { name: "ok", description: "a\u0007" })).toEqual(["description"]);
    expect(
      paths(PatchTaskBodySchema, { description: "one\r\ntwo\n\tthree \u202b(rtl)\u202c", plan_markdown: "- a\n- b" }),
    ).toEqual([]);
  });

  it("the OpenAPI document carries the patterns, and they refuse the same characters once read back from JSON", async () => {
    const doc = JSON.parse(JSON.stringify(await routesOpenApiDocument("1.0.0"))) as Record<string, unknown>;
    const patterns = new Set<string>();
    JSON.stringify(doc, (key, value: unknown) => {
      if (key === "pattern" && typeof value === "string") patterns.add(value);
      return value;
    });
    expect(patterns).toContain(SINGLE_LINE_PATTERN.source);
    expect(patterns).toContain(MULTI_LINE_PATTERN.source);
    const single = new RegExp(SINGLE_LINE_PATTERN.source);
    for (const bad of BAD) expect(single.test(bad), bad).toBe(false);
    for (const good of ORDINARY) expect(single.test(good), good).toBe(true);
  });
});

describe("printing stored text to a terminal", () => {
  it("writes every refused character as a visible escape and leaves ordinary text alone", () => {
    expect(visibleText("ci\u001b[31mbot\u202e\u0000\u009b\u2028\ud800")).toBe(
      "ci\\u{001B}[31mbot\\u{202E}\\u{0000}\\u{009B}\\u{2028}\\u{D800}",
    );
    for (const value of ORDINARY) expect(visibleText(value)).toBe(value);
    const leaks: string[] = [];
    for (let cp = 0; cp <= 0xffff; cp++) {
      if (!SINGLE_LINE_PATTERN.test(visibleText(`a${String.fromCharCode(cp)}b`))) leaks.push(hex(cp));
    }
    expect(leaks).toEqual([]);
  });
});
