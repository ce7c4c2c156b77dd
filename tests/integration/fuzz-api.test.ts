/**
 * Property test: thousands of random requests — methods, paths, query strings,
 * headers and bodies, well-formed or not — against every API route of the
 * production server. None may produce a 5xx, and every error must have exactly
 * the documented shape with the status its code goes with.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_ERRORS } from "../../app/lib/api/errors.server";
import { MULTI_LINE_PATTERN, SINGLE_LINE_PATTERN } from "../../app/lib/domain/text";
import { runCli } from "../support/server";
import { startApiServer, type ApiServer } from "./api-client";

let api: ApiServer;
beforeAll(async () => {
  api = await startApiServer({ API_RATE_LIMIT: "1000000/1m" });
  await api.call("POST", "/api/projects", { body: { name: "Fuzz", project_key: "FZ", repo_url: "acme/fuzz" } });
  for (let i = 0; i < 5; i++) await api.call("POST", "/api/tasks", { body: { title: `seed ${i}`, labels: ["a"] } });
});
afterAll(async () => {
  await api?.stop();
});

const FIELDS = [
  "title",
  "description",
  "project_key",
  "projectKey",
  "repo",
  "status",
  "priority",
  "labels",
  "acceptance_criteria",
  "engine",
  "branch",
  "planMarkdown",
  "plan_markdown",
  "result",
  "lifecycle_action",
  "name",
  "repo_url",
  "settings",
  "id",
  "uuid",
  "task_key",
  "__proto__",
  "constructor",
];
const QUERY_KEYS = [
  "status",
  "label",
  "engine",
  "priority",
  "run_state",
  "project_key",
  "q",
  "updated_since",
  "limit",
  "cursor",
  "toString",
  "x",
];
/** Terminal escapes, C1 controls, bidi overrides and isolates, line separators, a lone CR and a lone surrogate. */
const HOSTILE = [
  "a\u0000b",
  "\u001b[31mred",
  "\u202eevil",
  "x\u009b2Jy",
  "\u2066iso\u2069",
  "l\u2028s",
  "cr\rx",
  "\ud800",
  " \u200f ",
];
const ENUMISH = [
  "inbox",
  "todo",
  "hold",
  "ready",
  "done",
  "archived",
  "plan",
  "start",
  "complete",
  "review",
  "block",
  "high",
  "none",
  "working",
  "running",
  "queued",
  "FZ",
  "fz",
  "acme/fuzz",
  "https://github.com/acme/fuzz.git",
  "claude-code",
  "",
];

const jsonValue = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...ENUMISH) },
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 300 }) },
  { weight: 1, arbitrary: fc.constantFrom(...HOSTILE) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(...ENUMISH, ...HOSTILE, "x".repeat(50)), { maxLength: 25 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 60 }).map((d) => JSON.parse("[".repeat(d) + "]".repeat(d)) as unknown) },
);
/** Plausible bodies, so a good share of requests succeed and exercise the domain, not only validation. */
const plausible = fc
  .oneof(
    fc.record(
      {
        title: fc.oneof(
          { weight: 9, arbitrary: fc.string({ minLength: 1, maxLength: 60 }) },
          { weight: 1, arbitrary: fc.constantFrom(...HOSTILE) },
        ),
        project_key: fc.constantFrom("FZ", "fz"),
        labels: fc.array(fc.constantFrom("a", "b", "Backend", "backend", "UI", HOSTILE[1]!, HOSTILE[2]!), { maxLength: 4 }),
        status: fc.constantFrom("inbox", "todo", "hold", "ready", "done", "archived"),
        priority: fc.constantFrom("high", "none", "lowest"),
        acceptance_criteria: fc.array(
          fc.string({ minLength: 1, maxLength: 30 }).filter((x) => x.trim() !== ""),
          { maxLength: 3 },
        ),
      },
      { requiredKeys: ["title"] },
    ),
    fc.record(
      {
        title: fc.string({ minLength: 1, maxLength: 60 }),
        lifecycle_action: fc.constantFrom("plan", "start", "complete", "review", "block"),
        planMarkdown: fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: "binary", maxLength: 80 })),
        result: fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
        engine: fc.constantFrom("codex", "claude-code", null),
        branch: fc.constantFrom("", "feat/x", null),
      },
      { requiredKeys: [] },
    ),
    fc.record(
      { status: fc.constantFrom("inbox", "todo", "hold", "ready", "done", "archived"), engine: fc.constantFrom("codex", null) },
      { requiredKeys: ["status"] },
    ),
    fc.record(
      {
        name: fc.string({ minLength: 1, maxLength: 40 }),
        description: fc.string({ maxLength: 40 }),
        settings: fc.record({ deploy_auto_pr: fc.boolean() }),
      },
      { requiredKeys: ["name"] },
    ),
  )
  .map((o) => JSON.stringify(o));
const body = fc.oneof(
  { weight: 6, arbitrary: plausible },
  { weight: 6, arbitrary: fc.dictionary(fc.constantFrom(...FIELDS), jsonValue, { maxKeys: 6 }).map((o) => JSON.stringify(o)) },
  { weight: 2, arbitrary: fc.json({ maxDepth: 4 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom("", "{", "null", "[]", '{"title":"x"', '"str"', "1e999", '{"title":"\\ud800"}', "\u0000"),
  },
);
const segment = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("FZ-1", "FZ-2", "fz-3", "FZ-4", "FZ") },
  fc.constantFrom(
    "FZ-1",
    "fz-2",
    "FZ-999999999",
    "FZ-0",
    "FZ",
    "fz",
    "NOPE-1",
    "00000000-0000-4000-8000-000000000000",
    "%25",
    "%00",
    "a%2Fb",
    "x".repeat(300),
  ),
  fc
    .string({ maxLength: 40 })
    .filter((s) => s !== "." && s !== "..")
    .map(encodeURIComponent),
);
const path = fc.oneof(
  fc.constantFrom("/api/projects", "/api/tasks", "/api/openapi.json", "/api/health", "/api/me", "/api/nope", "/api/"),
  segment.map((s) => `/api/projects/${s}`),
  segment.map((s) => `/api/projects/${s}/settings`),
  segment.map((s) => `/api/tasks/${s}`),
  segment.map((s) => `/api/tasks/${s}/status`),
);
const query = fc
  .array(
    fc.tuple(
      fc.oneof(fc.constantFrom(...QUERY_KEYS), fc.string({ maxLength: 8 })),
      fc.oneof(
        fc.constantFrom(...ENUMISH, "0", "50", "201", "-1", "1.5", "%", "_", "2026-01-01", "eyJ2IjoxfQ"),
        fc.string({ maxLength: 30 }),
      ),
    ),
    { maxLength: 4 },
  )
  .map((pairs) => (pairs.length ? `?${new URLSearchParams(pairs).toString()}` : ""));
const ascii = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 });
const headers = fc.record(
  {
    "Content-Type": fc.constantFrom(
      "application/json",
      "application/json",
      "application/json",
      "application/json",
      "application/json; charset=utf-8",
      "APPLICATION/JSON",
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/jsonx",
      ";",
    ),
    "If-Match": fc.oneof(fc.constantFrom('"1"', '"2"', "*", 'W/"1"', '"1", "2"', ""), ascii),
    "Idempotency-Key": fc.oneof(fc.constantFrom("k1", "k2", "", "x".repeat(300)), ascii),
    Accept: fc.constantFrom("application/json", "*/*", "text/html"),
  },
  { requiredKeys: ["Content-Type"] },
);
const auth = fc.constantFrom<"full" | "read" | "none" | "bad" | "lower">(
  "full",
  "full",
  "full",
  "full",
  "read",
  "none",
  "bad",
  "lower",
);
const method = fc.constantFrom("GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS");
/** Mostly a method the route has (so requests reach validation and the domain), sometimes anything. */
const target = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.oneof(
      fc.constant<[string, string]>(["GET", "/api/tasks"]),
      fc.constant<[string, string]>(["POST", "/api/tasks"]),
      fc.constant<[string, string]>(["POST", "/api/tasks"]),
      fc.constant<[string, string]>(["GET", "/api/projects"]),
      fc.constant<[string, string]>(["POST", "/api/projects"]),
      segment.map((x): [string, string] => ["GET", `/api/tasks/${x}`]),
      segment.map((x): [string, string] => ["PATCH", `/api/tasks/${x}`]),
      segment.map((x): [string, string] => ["PATCH", `/api/tasks/${x}`]),
      segment.map((x): [string, string] => ["PATCH", `/api/tasks/${x}/status`]),
      segment.map((x): [string, string] => ["GET", `/api/projects/${x}`]),
      segment.map((x): [string, string] => ["PATCH", `/api/projects/${x}`]),
      segment.map((x): [string, string] => ["GET", `/api/projects/${x}/settings`]),
    ),
  },
  { weight: 1, arbitrary: segment.map((x): [string, string] => ["DELETE", `/api/tasks/${x}`]) },
  { weight: 3, arbitrary: fc.tuple(method, path) },
);

describe("random requests against every API route", () => {
  it("never get a 5xx, and every error has the documented shape", { timeout: 240_000 }, async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(target, query, headers, body, auth, async ([m, p], q, h, b, a) => {
        const token = a === "full" ? api.fullToken : a === "read" ? api.readToken : a === "bad" ? `preq_${"A".repeat(32)}` : null;
        const extra: Record<string, string> = { ...h };
        if (a === "lower") extra.Authorization = `bearer ${api.fullToken}`;
        const sendsBody = m !== "GET" && m !== "HEAD";
        const res = await api.call(m, `${p}${q}`, {
          raw: sendsBody ? b : undefined,
          headers: extra,
          token: a === "lower" ? null : token,
        });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect(res.status, `${m} ${p}${q} ${b.slice(0, 200)}`).toBeLessThan(500);
        if (m === "HEAD") return;
        if (res.status >= 400) {
          const { error, ...rest } = res.json as { error: Record<string, unknown> };
          expect(rest).toEqual({});
          const { code, message, details, ...others } = error;
          expect(others).toEqual({});
          expect(typeof message).toBe("string");
          expect(API_ERRORS[code as keyof typeof API_ERRORS], String(code)).toBe(res.status);
          if (details !== undefined) {
            expect(code).toBe("VALIDATION_ERROR");
            for (const d of details as Record<string, unknown>[]) expect(Object.keys(d).sort()).toEqual(["message", "path"]);
          }
          expect(res.text).not.toMatch(/SQLITE|at .*\.js:\d+|stack/i);
        } else {
          expect(res.headers.get("content-type")).toMatch(/^application\/json/);
          expect(typeof res.json).toBe("object");
        }
      }),
      { numRuns: 3000, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
    );
    console.info("fuzz statuses", Object.fromEntries([...statuses].sort((x, y) => x[0] - y[0])));
    // The run reached the handlers, not just the guard: successes and validation errors both happened.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(50);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(50);
    expect(statuses.get(201) ?? 0).toBeGreaterThan(0);
    expect(api.server.output()).not.toMatch(/"level":"error"/);
    const verify = await runCli(["audit", "verify"], { dbPath: api.server.dbPath });
    expect(verify.code, verify.stderr).toBe(0);

    // Whatever got through, no stored text holds a control or bidi-formatting character it may not hold.
    const single = (rows: { v: string | null }[]) =>
      rows.map((r) => r.v).filter((v) => v !== null && !SINGLE_LINE_PATTERN.test(v));
    const multi = (rows: { v: string | null }[]) => rows.map((r) => r.v).filter((v) => v !== null && !MULTI_LINE_PATTERN.test(v));
    const criteria = api.rows<{ v: string }>("SELECT value AS v FROM tasks, json_each(tasks.acceptance_criteria)");
    for (const column of ["title", "branch", "engine"])
      expect(single(api.rows(`SELECT ${column} AS v FROM tasks`)), column).toEqual([]);
    expect(single(criteria), "acceptance_criteria").toEqual([]);
    expect(single(api.rows("SELECT name AS v FROM labels")), "labels").toEqual([]);
    for (const column of ["name", "repo_url"])
      expect(single(api.rows(`SELECT ${column} AS v FROM projects`)), column).toEqual([]);
    for (const column of ["description", "plan_markdown"])
      expect(multi(api.rows(`SELECT ${column} AS v FROM tasks`)), column).toEqual([]);
    expect(multi(api.rows("SELECT description AS v FROM projects")), "project description").toEqual([]);
  });
});
