/**
 * Every error code of spec/api.md's table, produced on the production server
 * and compared byte for byte with the documented shape. (500 INTERNAL_ERROR
 * cannot be produced on purpose: no input may cause one; the fuzz test checks that.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApiServer, type ApiServer } from "./api-client";

let api: ApiServer;
beforeAll(async () => {
  api = await startApiServer();
  await api.call("POST", "/api/projects", { body: { name: "Errors", project_key: "ERR" } });
  await api.call("POST", "/api/tasks", { body: { title: "first" } });
});
afterAll(async () => {
  await api?.stop();
});

const err = (code: string, message: string, details?: { path: string; message: string }[]) => ({
  error: details ? { code, message, details } : { code, message },
});

describe("400 INVALID_JSON", () => {
  it("answers a body that is not JSON", async () => {
    for (const raw of ["{", "{'title': 'x'}", "nul", '{"title": "x"} trailing']) {
      const res = await api.call("POST", "/api/tasks", { raw, headers: { "Content-Type": "application/json" } });
      expect(res.status, raw).toBe(400);
      expect(res.text).toBe(JSON.stringify(err("INVALID_JSON", "Request body is not valid JSON")));
      expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    }
    const empty = await api.call("PATCH", "/api/tasks/ERR-1", { raw: "", headers: { "Content-Type": "application/json" } });
    expect(empty.json).toEqual(err("INVALID_JSON", "Request body is empty; send a JSON object"));
  });
});

describe("400 VALIDATION_ERROR", () => {
  it("names the failing field in details", async () => {
    const res = await api.call("POST", "/api/tasks", { body: { title: "   " } });
    expect(res.status).toBe(400);
    expect(res.json).toEqual(
      err("VALIDATION_ERROR", "Request body failed validation (title: Must not be empty)", [
        { path: "title", message: "Must not be empty" },
      ]),
    );
  });

  it("rejects unknown fields by name, and id, uuid, task_key in a POST body", async () => {
    const unknown = await api.call("POST", "/api/tasks", { body: { title: "x", colour: "red" } });
    expect(unknown.json).toEqual(
      err("VALIDATION_ERROR", 'Request body failed validation (colour: Unknown field "colour")', [
        { path: "colour", message: 'Unknown field "colour"' },
      ]),
    );
    for (const field of ["id", "uuid", "task_key"]) {
      const res = await api.call("POST", "/api/tasks", { body: { title: "x", [field]: "ERR-99" } });
      expect(res.status).toBe(400);
      expect(res.json.error.details).toEqual([{ path: field, message: `${field} is assigned by the server and cannot be set` }]);
    }
    const proto = await api.call("POST", "/api/tasks", {
      raw: '{"title":"x","__proto__":{"admin":true}}',
      headers: { "Content-Type": "application/json" },
    });
    expect(proto.status).toBe(400);
    expect(proto.json.error.details).toEqual([{ path: "__proto__", message: 'The key "__proto__" is not allowed' }]);
    // nested, where a schema for free-form objects would otherwise drop it without a word
    const inResult = await api.call("PATCH", "/api/tasks/ERR-1", {
      raw: '{"result":{"ok":true,"meta":{"constructor":{"prototype":{"admin":true}}}}}',
      headers: { "Content-Type": "application/json" },
    });
    expect(inResult.status).toBe(400);
    expect(inResult.json).toEqual(
      err("VALIDATION_ERROR", 'Request body failed validation (result.meta.constructor: the key "constructor" is not allowed)', [
        { path: "result.meta.constructor", message: 'The key "constructor" is not allowed' },
      ]),
    );
  });

  it("rejects both spellings of an alias with different values, accepts them when equal", async () => {
    const both = await api.call("POST", "/api/tasks", { body: { title: "x", project_key: "ERR", projectKey: "OTHER" } });
    expect(both.status).toBe(400);
    expect(both.json.error.details).toEqual([
      { path: "projectKey", message: "projectKey and project_key are the same field; give one of them" },
    ]);
    expect((await api.call("POST", "/api/tasks", { body: { title: "x", project_key: "ERR", projectKey: "ERR" } })).status).toBe(
      201,
    );
    const plans = await api.call("PATCH", "/api/tasks/ERR-1", { body: { planMarkdown: "a", plan_markdown: "b" } });
    expect(plans.json.error.details).toEqual([
      { path: "plan_markdown", message: "plan_markdown and planMarkdown are the same field; give one of them" },
    ]);
  });

  it("needs a non-empty planMarkdown for the plan action", async () => {
    const res = await api.call("PATCH", "/api/tasks/ERR-1", { body: { lifecycle_action: "plan" } });
    expect(res.status).toBe(400);
    expect(res.json.error.details).toEqual([
      { path: "planMarkdown", message: "lifecycle_action plan needs a non-empty planMarkdown" },
    ]);
  });

  it("enforces the documented limits", async () => {
    const cases: [unknown, string][] = [
      [{ title: "x".repeat(181) }, "title"],
      [{ title: "x", description: "d".repeat(50_001) }, "description"],
      [{ title: "x", labels: Array.from({ length: 21 }, (_, i) => `l${i}`) }, "labels"],
      [{ title: "x", labels: ["y".repeat(41)] }, "labels.0"],
      [{ title: "x", acceptance_criteria: Array.from({ length: 51 }, () => "c") }, "acceptance_criteria"],
      [{ title: "x", acceptance_criteria: ["c".repeat(201)] }, "acceptance_criteria.0"],
      [{ title: "x", status: "doing" }, "status"],
      [{ title: "x", priority: "urgent" }, "priority"],
      [{ title: "x", engine: "Claude Code!" }, "engine"],
    ];
    for (const [body, path] of cases) {
      const res = await api.call("POST", "/api/tasks", { body });
      expect(res.status, path).toBe(400);
      expect(res.json.error.code).toBe("VALIDATION_ERROR");
      expect(
        res.json.error.details.map((d: { path: string }) => d.path),
        path,
      ).toEqual([path]);
    }
    const big = await api.call("PATCH", "/api/tasks/ERR-1", { body: { result: { log: "z".repeat(70_000) } } });
    expect(big.json.error.details).toEqual([{ path: "result", message: "Must be at most 65536 bytes of JSON" }]);
    const status = await api.call("PATCH", "/api/tasks/ERR-1/status", { body: { status: "todo", title: "x" } });
    expect(status.json.error.details).toEqual([{ path: "title", message: 'Unknown field "title"' }]);
  });

  it("validates query parameters", async () => {
    for (const [query, path] of [
      ["limit=0", "limit"],
      ["limit=201", "limit"],
      ["limit=ten", "limit"],
      ["status=doing", "status"],
      ["run_state=sleeping", "run_state"],
      ["updated_since=yesterday", "updated_since"],
      ["cursor=bm9wZQ", "cursor"],
      ["sort=title", "sort"],
      ["status=todo&status=done", "status"],
    ]) {
      const res = await api.call("GET", `/api/tasks?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.json.error.code).toBe("VALIDATION_ERROR");
      expect(res.json.error.details[0].path, query).toBe(path);
    }
    expect((await api.call("GET", "/api/tasks?limit=1")).json.tasks).toHaveLength(1);
    expect((await api.call("GET", "/api/tasks?limit=200&updated_since=2020-01-01T00:00:00%2B02:00")).status).toBe(200);
  });

  it("answers a project key that cannot be derived with a project_key detail when several projects exist", async () => {
    await api.call("POST", "/api/projects", { body: { name: "Second", project_key: "SEC" } });
    const res = await api.call("POST", "/api/tasks", { body: { title: "where?" } });
    expect(res.json).toEqual(
      err("VALIDATION_ERROR", "project_key is required: Several projects exist; give project_key or repo", [
        { path: "project_key", message: "Several projects exist; give project_key or repo" },
      ]),
    );
  });
});

describe("401 UNAUTHORIZED", () => {
  it("sends the documented body and WWW-Authenticate without a token", async () => {
    const res = await api.call("GET", "/api/tasks", { token: null });
    expect(res.status).toBe(401);
    expect(res.text).toBe(JSON.stringify(err("UNAUTHORIZED", "Missing or invalid authorization header")));
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="preqstation"');
  });

  it("adds error=invalid_token when a bad token was presented, and ignores a token in the query string", async () => {
    const res = await api.call("POST", "/api/tasks", { body: { title: "x" }, token: `preq_${"x".repeat(32)}` });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="preqstation", error="invalid_token"');
    const query = await api.call("GET", `/api/tasks?access_token=${api.fullToken}`, { token: null });
    expect(query.status).toBe(401);
  });
});

describe("403 FORBIDDEN", () => {
  it("answers a read token's write", async () => {
    const res = await api.call("DELETE", "/api/tasks/ERR-1", { token: api.readToken });
    expect(res.status).toBe(403);
    expect(res.text).toBe(JSON.stringify(err("FORBIDDEN", "Insufficient permissions")));
    expect(res.headers.get("x-ratelimit-remaining")).toMatch(/^\d+$/);
  });
});

describe("404 NOT_FOUND", () => {
  it("answers unknown tasks, projects and paths", async () => {
    expect((await api.call("GET", "/api/tasks/ERR-999")).json).toEqual(err("NOT_FOUND", "Task ERR-999 not found"));
    expect((await api.call("PATCH", "/api/tasks/ERR-999", { body: { title: "x" } })).status).toBe(404);
    expect((await api.call("GET", "/api/tasks/not a key")).status).toBe(404);
    expect((await api.call("GET", `/api/tasks/${"x".repeat(3000)}`)).json).toEqual(
      err("NOT_FOUND", `Task ${"x".repeat(64)}… not found`),
    );
    expect((await api.call("GET", "/api/projects/NOPE/settings")).json).toEqual(err("NOT_FOUND", "Project NOPE not found"));
    expect((await api.call("PATCH", "/api/projects/NOPE", { body: { name: "x" } })).status).toBe(404);
    expect((await api.call("POST", "/api/tasks", { body: { title: "x", project_key: "NOPE" } })).json).toEqual(
      err("NOT_FOUND", "Project NOPE not found"),
    );
    expect((await api.call("POST", "/api/tasks", { body: { title: "x", repo: "acme/unknown" } })).json).toEqual(
      err("NOT_FOUND", "No project has the repository acme/unknown"),
    );
  });
});

describe("405 METHOD_NOT_ALLOWED", () => {
  it("names the allowed methods in Allow", async () => {
    const cases: [string, string, string][] = [
      ["DELETE", "/api/projects", "GET, HEAD, POST"],
      ["PUT", "/api/tasks", "GET, HEAD, POST"],
      ["POST", "/api/tasks/ERR-1", "GET, HEAD, PATCH, DELETE"],
      ["GET", "/api/tasks/ERR-1/status", "PATCH"],
      ["DELETE", "/api/projects/ERR", "GET, HEAD, PATCH"],
      ["POST", "/api/projects/ERR/settings", "GET, HEAD"],
      ["POST", "/api/openapi.json", "GET, HEAD"],
    ];
    for (const [method, path, allow] of cases) {
      const res = await api.call(method, path, { body: method === "GET" ? undefined : {} });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get("allow")).toBe(allow);
      expect(res.json).toEqual(err("METHOD_NOT_ALLOWED", `Method not allowed; use ${allow}`));
    }
  });
});

describe("409 CONFLICT", () => {
  it("answers a lifecycle action from a status that does not allow it, naming allowed and current", async () => {
    const res = await api.call("PATCH", "/api/tasks/ERR-1", { body: { lifecycle_action: "review" } });
    expect(res.status).toBe(409);
    expect(res.json).toEqual(
      err("CONFLICT", "Cannot review a task in status inbox; review is allowed from ready (current status: inbox)"),
    );
  });

  it("answers a duplicate project key", async () => {
    const res = await api.call("POST", "/api/projects", { body: { name: "Again", project_key: "err" } });
    expect(res.json).toEqual(err("CONFLICT", "Project key ERR already exists"));
  });
});

describe("412 PRECONDITION_FAILED", () => {
  it("answers an If-Match that is not the current ETag", async () => {
    const res = await api.call("PATCH", "/api/tasks/ERR-1/status", { body: { status: "todo" }, headers: { "If-Match": '"41"' } });
    expect(res.status).toBe(412);
    expect(res.json).toEqual(err("PRECONDITION_FAILED", `If-Match does not match the task's current ETag "1"`));
  });
});

describe("413 PAYLOAD_TOO_LARGE", () => {
  const expected = JSON.stringify(err("PAYLOAD_TOO_LARGE", "Request body must be at most 1048576 bytes"));

  /**
   * POSTs `chunks` with `Connection: close`: the server answers before reading
   * everything and drops the connection, which must not be reused by the pool.
   */
  async function postOversized(content: string | string[]): Promise<{ status: number; text: string }> {
    const encoder = new TextEncoder();
    const chunks = typeof content === "string" ? [] : content;
    let i = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (i >= chunks.length) return controller.close();
        controller.enqueue(encoder.encode(chunks[i++]!));
      },
    });
    const res = await fetch(`${api.server.url}/api/tasks`, {
      method: "POST",
      headers: { Authorization: `Bearer ${api.fullToken}`, "Content-Type": "application/json", Connection: "close" },
      // A string is sent with its Content-Length; a stream is sent chunked, with none.
      body: typeof content === "string" ? content : stream,
      duplex: "half",
    } as RequestInit);
    return { status: res.status, text: await res.text() };
  }

  it("answers a declared body over 1 MiB", async () => {
    const body = JSON.stringify({ title: "x", description: "y".repeat(1024 * 1024) });
    const res = await postOversized(body);
    expect(res.status).toBe(413);
    expect(res.text).toBe(expected);
  });

  it("stops reading a chunked body once it passes 1 MiB", async () => {
    const res = await postOversized(Array.from({ length: 8 }, () => "a".repeat(256 * 1024)));
    expect(res.status).toBe(413);
    expect(res.text).toBe(expected);
  });
});

describe("415 UNSUPPORTED_MEDIA_TYPE", () => {
  it("answers a body that is not application/json, and accepts a charset parameter", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/json-patch+json", ""]) {
      const res = await api.call("POST", "/api/tasks", { raw: '{"title":"x"}', headers: type ? { "Content-Type": type } : {} });
      expect(res.status, type).toBe(415);
      expect(res.text).toBe(JSON.stringify(err("UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json")));
    }
    const ok = await api.call("POST", "/api/tasks", {
      raw: '{"title":"x","project_key":"ERR"}',
      headers: { "Content-Type": "Application/JSON; charset=utf-8" },
    });
    expect(ok.status).toBe(201);
  });
});

describe("429 RATE_LIMITED", () => {
  it("answers the request over the token's limit with Retry-After", async () => {
    const limited = await startApiServer({ API_RATE_LIMIT: "5/1m" });
    try {
      const statuses: number[] = [];
      let last;
      for (let i = 0; i < 6; i++) {
        last = await limited.call("GET", "/api/tasks");
        statuses.push(last.status);
      }
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
      expect(last!.text).toBe(JSON.stringify(err("RATE_LIMITED", "Rate limit exceeded; retry later")));
      expect(Number(last!.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(last!.headers.get("x-ratelimit-remaining")).toBe("0");
    } finally {
      await limited.stop();
    }
  });
});
