import { describe, expect, it } from "vitest";
import { queryObject, readJsonBody, validationDetails } from "../../app/lib/api/input.server";
import { readBodyText } from "../../app/lib/http/body.server";
import { ApiError } from "../../app/lib/api/route.server";
import { CreateTaskBodySchema, ListTasksQuerySchema, PatchProjectBodySchema } from "../../app/lib/api/schemas";
import { BodyTooLargeError } from "../../app/lib/http/body.server";

const post = (body: BodyInit | null, type: string | null = "application/json", extra: Record<string, string> = {}) =>
  new Request("http://x/api/tasks", {
    method: "POST",
    body,
    headers: { ...(type ? { "Content-Type": type } : {}), ...extra },
    duplex: "half",
  } as RequestInit);

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (error instanceof ApiError) return error.code;
  if (error instanceof BodyTooLargeError) return "PAYLOAD_TOO_LARGE";
  throw new Error(`expected an error, got ${String(error)}`);
}

function stream(chunks: number, size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(c) {
      if (sent++ >= chunks) return c.close();
      c.enqueue(new Uint8Array(size).fill(97));
    },
  });
}

describe("reading a JSON body", () => {
  it("parses JSON sent as application/json, with or without parameters", async () => {
    expect((await readJsonBody(post('{"a":1}'))).value).toEqual({ a: 1 });
    expect((await readJsonBody(post('{"a":1}', "Application/JSON; charset=utf-8"))).text).toBe('{"a":1}');
  });

  it("is 415 for any other media type, and 400 INVALID_JSON for text that is not JSON", async () => {
    for (const type of [null, "text/plain", "application/jsonp", "application/merge-patch+json"])
      expect(await codeOf(readJsonBody(post("{}", type)))).toBe("UNSUPPORTED_MEDIA_TYPE");
    for (const text of ["", "{", "{a:1}", "[1,]"]) expect(await codeOf(readJsonBody(post(text)))).toBe("INVALID_JSON");
  });

  it("refuses __proto__, constructor and prototype keys at any depth with 400 VALIDATION_ERROR naming the path", async () => {
    const refused = async (text: string) => {
      const error = await readJsonBody(post(text)).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, text).toBeInstanceOf(ApiError);
      return error as ApiError;
    };
    const top = await refused('{"title":"x","__proto__":{"isAdmin":true}}');
    expect(top.code).toBe("VALIDATION_ERROR");
    expect(top.details).toEqual([{ path: "__proto__", message: 'The key "__proto__" is not allowed' }]);
    expect((await refused('{"title":"x","constructor":{"prototype":{"x":1}}}')).details).toEqual([
      { path: "constructor", message: 'The key "constructor" is not allowed' },
    ]);
    expect((await refused('{"result":{"steps":[{"ok":true},{"prototype":1}]}}')).details?.[0]?.path).toBe(
      "result.steps.1.prototype",
    );
    expect((await refused('[{"a":{"__proto__":null}}]')).details?.[0]?.path).toBe("0.a.__proto__");
    // a value that merely says the word is fine, and deep nesting cannot overflow the walk
    expect((await readJsonBody(post('{"title":"__proto__ constructor prototype"}'))).value).toEqual({
      title: "__proto__ constructor prototype",
    });
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    expect(Array.isArray((await readJsonBody(post(deep))).value)).toBe(true);
  });

  it("refuses a body over the limit while streaming, without keeping what is past it", async () => {
    expect(await codeOf(readBodyText(post(stream(5, 300)), 1000))).toBe("PAYLOAD_TOO_LARGE");
    expect(await readBodyText(post(stream(3, 300)), 1000)).toBe("a".repeat(900));
    expect(await codeOf(readBodyText(post("{}", "application/json", { "Content-Length": "2000000" })))).toBe("PAYLOAD_TOO_LARGE");
  });
});

describe("validation details", () => {
  it("names unknown fields by their own path, nested ones too", () => {
    const top = CreateTaskBodySchema.safeParse({ title: "x", extra: 1, uuid: "u" });
    expect(validationDetails(top.error!)).toEqual([
      { path: "extra", message: 'Unknown field "extra"' },
      { path: "uuid", message: "uuid is assigned by the server and cannot be set" },
    ]);
    const nested = PatchProjectBodySchema.safeParse({ settings: { id: 1, deploy_auto_pr: "maybe" } });
    expect(
      validationDetails(nested.error!)
        .map((d) => d.path)
        .sort(),
    ).toEqual(["settings.deploy_auto_pr", "settings.id"]);
    const immutable = PatchProjectBodySchema.safeParse({ project_key: "NEW", version: 3 });
    expect(validationDetails(immutable.error!)).toEqual([
      { path: "project_key", message: "project_key cannot be changed" },
      { path: "version", message: "version is maintained by the server; send If-Match to guard a change" },
    ]);
  });

  it("does not mistake inherited names for read-only fields", () => {
    const result = CreateTaskBodySchema.safeParse(JSON.parse('{"title":"x","__proto__":1,"constructor":2,"toString":3}'));
    expect(validationDetails(result.error!)).toEqual([
      { path: "__proto__", message: 'Unknown field "__proto__"' },
      { path: "constructor", message: 'Unknown field "constructor"' },
      { path: "toString", message: 'Unknown field "toString"' },
    ]);
  });
});

describe("query strings", () => {
  it("refuses a repeated parameter and keeps __proto__ as an ordinary (unknown) key", () => {
    expect(() => queryObject(new URL("http://x/?status=todo&status=done"))).toThrow(ApiError);
    const q = queryObject(new URL("http://x/?__proto__=1&limit=5"));
    expect(Object.keys(q).sort()).toEqual(["__proto__", "limit"]);
    const parsed = ListTasksQuerySchema.safeParse(q);
    expect(validationDetails(parsed.error!, false)).toEqual([
      { path: "__proto__", message: 'Unknown query parameter "__proto__"' },
    ]);
    const version = ListTasksQuerySchema.safeParse({ version: "1" });
    expect(validationDetails(version.error!, false)).toEqual([{ path: "version", message: 'Unknown query parameter "version"' }]);
  });
});
