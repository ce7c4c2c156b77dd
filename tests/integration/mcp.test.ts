/**
 * The MCP endpoint on the production server, driven by the SDK's own Client and
 * StreamableHTTPClientTransport with real tokens: the tool list per scope, the
 * agent flow with every result equal to the API's JSON, errors as tool errors,
 * the HTTP-level guard (401, 403, 405, 429), the audit trail, idempotent
 * retries, and fuzzed arguments.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ErrorCode, McpError, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import http from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getPage, postForm, setupOwner, signIn } from "../support/http";
import { runCli, startServer, type TestServer } from "../support/server";
import { createToken, startApiServer, type ApiServer } from "./api-client";

let api: ApiServer;
let full: Client;
let read: Client;

async function connect(token: string, url = api.server.url): Promise<Client> {
  const client = new Client({ name: "vitest-agent", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL("/mcp", url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

/** The one text content of a result. */
function text(result: CallToolResult): string {
  expect(result.content).toHaveLength(1);
  const [item] = result.content;
  expect(item?.type).toBe("text");
  return (item as { text: string }).text;
}

/** A successful result: its structured content, after checking the text content holds the same JSON. */
function ok(result: CallToolResult): Record<string, unknown> {
  expect(result.isError ?? false, text(result)).toBe(false);
  expect(JSON.parse(text(result))).toEqual(result.structuredContent);
  return result.structuredContent as Record<string, unknown>;
}

/** POST /mcp with a raw JSON-RPC message, as a client without the SDK would send it. */
function post(body: unknown, headers: Record<string, string> = {}, token: string | null = api.fullToken): Promise<Response> {
  return fetch(`${api.server.url}/mcp`, {
    method: "POST",
    headers: {
      Accept: "application/json, text/event-stream",
      "Content-Type": "application/json",
      ...(token === null ? {} : { Authorization: `Bearer ${token}` }),
      ...headers,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

const toolsCall = (name: string, args: unknown, id: number | string = 1) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name, arguments: args },
});

interface AuditRow {
  seq: number;
  action: string;
  actor_type: string;
  actor_id: string;
  resource_id: string;
  channel: string | null;
}
const auditRows = () =>
  api.rows<AuditRow>("select seq, action, actor_type, actor_id, resource_id, channel from audit_log order by seq");
const tokenId = (name: string) => api.rows<{ id: number }>("select id from api_tokens where name = ?", name)[0]!.id;

beforeAll(async () => {
  api = await startApiServer();
  const project = await api.call("POST", "/api/projects", {
    body: { name: "Agent Tools", project_key: "AT", repo_url: "https://github.com/acme/tools" },
  });
  expect(project.status).toBe(201);
  full = await connect(api.fullToken);
  read = await connect(api.readToken);
});
afterAll(async () => {
  await full?.close();
  await read?.close();
  await api?.stop();
});

const READ_TOOLS = ["list_projects", "list_tasks", "get_task"];
const ALL_TOOLS = [
  ...READ_TOOLS,
  "create_task",
  "update_task",
  "plan_task",
  "start_task",
  "complete_task",
  "review_task",
  "block_task",
  "delete_task",
  "preq_claim_next_task",
  "preq_heartbeat_task",
  "preq_release_task",
];

describe("MCP: initialize and tools/list", () => {
  it("initializes statelessly: server info, the tools capability, and no session id", async () => {
    expect(full.getServerVersion()).toMatchObject({ name: "preqstation" });
    expect(full.getServerCapabilities()?.tools).toBeDefined();
    const res = await post({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "curl", version: "1" } },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("mcp-session-id")).toBeNull();
    expect(res.headers.get("x-ratelimit-limit")).toBe("1000000");
    expect(res.headers.get("x-ratelimit-remaining")).toMatch(/^\d+$/);
    expect(res.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'; base-uri 'none'");
    const body = (await res.json()) as { result: { serverInfo: { name: string }; protocolVersion: string } };
    expect(body.result.serverInfo.name).toBe("preqstation");
    expect(body.result.protocolVersion).toBe("2025-06-18");
  });

  it("lists every tool to a full token, with output schemas and the read/destructive hints", async () => {
    const { tools } = await full.listTools();
    expect(tools.map((t) => t.name)).toEqual(ALL_TOOLS);
    for (const tool of tools) {
      expect(tool.inputSchema.type).toBe("object");
      expect(tool.outputSchema?.type).toBe("object");
      expect(tool.annotations?.readOnlyHint, tool.name).toBe(READ_TOOLS.includes(tool.name));
      if (!READ_TOOLS.includes(tool.name)) expect(tool.annotations?.destructiveHint, tool.name).toBe(tool.name === "delete_task");
    }
    const byName = new Map(tools.map((t) => [t.name, t]));
    expect(byName.get("get_task")!.inputSchema.required).toEqual(["task_id"]);
    expect(Object.keys(byName.get("create_task")!.inputSchema.properties ?? {})).toContain("idempotency_key");
    expect(Object.keys(byName.get("start_task")!.inputSchema.properties ?? {})).not.toContain("lifecycle_action");
  });

  it("lists only the three read tools to a read token", async () => {
    const { tools } = await read.listTools();
    expect(tools.map((t) => t.name)).toEqual(READ_TOOLS);
    expect(tools.every((t) => t.annotations?.readOnlyHint === true)).toBe(true);
  });
});

describe("MCP: the agent flow through tools, each result the API's JSON", () => {
  it("create → plan → start → complete → review, list and delete, equal to GET /api/tasks/:id at every step", async () => {
    const expectSameAsApi = async (result: CallToolResult) => {
      const content = ok(result) as { task: { task_key: string } };
      const viaApi = await api.call("GET", `/api/tasks/${content.task.task_key}`);
      expect(viaApi.status).toBe(200);
      expect(content).toEqual(viaApi.json);
      return content.task as Record<string, unknown>;
    };

    const created = await expectSameAsApi(
      await call(full, "create_task", {
        title: "Wire the MCP endpoint",
        repo: "git@github.com:acme/tools.git",
        labels: ["backend"],
        priority: "high",
      }),
    );
    expect(created).toMatchObject({ project_key: "AT", status: "inbox", priority: "high", labels: ["backend"], version: 1 });
    const key = created.task_key as string;

    const planned = await expectSameAsApi(
      await call(full, "plan_task", { task_id: key.toLowerCase(), plan_markdown: "1. route\n2. tools" }),
    );
    expect(planned).toMatchObject({ status: "todo", plan_markdown: "1. route\n2. tools", run_state: null });

    const started = await expectSameAsApi(
      await call(full, "start_task", { task_id: created.uuid, engine: "claude-code", branch: "feat/mcp" }),
    );
    expect(started).toMatchObject({ status: "todo", run_state: "working", engine: "claude-code", branch: "feat/mcp" });

    const completed = await expectSameAsApi(
      await call(full, "complete_task", { task_id: key, result: { summary: "done", tests: 12 } }),
    );
    expect(completed).toMatchObject({ status: "ready", run_state: null, result: { summary: "done", tests: 12 } });

    const reviewed = await expectSameAsApi(await call(full, "review_task", { task_id: key }));
    expect(reviewed).toMatchObject({ status: "done", version: 5 });

    const updated = await expectSameAsApi(
      await call(full, "update_task", { task_id: key, title: "Wire /mcp", labels: ["backend", "mcp"] }),
    );
    expect(updated).toMatchObject({ title: "Wire /mcp", labels: ["backend", "mcp"] });

    const blocked = await expectSameAsApi(
      await call(full, "block_task", {
        task_id: (await api.call("POST", "/api/tasks", { body: { title: "Other", project_key: "AT" } })).json.task.task_key,
      }),
    );
    expect(blocked.status).toBe("hold");

    // The read tools answer exactly what the read routes answer.
    expect(ok(await call(read, "list_projects"))).toEqual((await api.call("GET", "/api/projects")).json);
    expect(ok(await call(read, "list_tasks", { project_key: "at", limit: 1 }))).toEqual(
      (await api.call("GET", "/api/tasks?project_key=at&limit=1")).json,
    );
    expect(ok(await call(read, "list_tasks", { status: "done" }))).toEqual(
      (await api.call("GET", "/api/tasks?status=done")).json,
    );
    expect(ok(await call(read, "get_task", { task_id: key }))).toEqual((await api.call("GET", `/api/tasks/${key}`)).json);

    expect(ok(await call(full, "delete_task", { task_id: key }))).toEqual({ ok: true });
    const gone = await call(full, "get_task", { task_id: key });
    expect(gone.isError).toBe(true);
    expect(text(gone)).toMatch(new RegExp(`^NOT_FOUND: Task ${key} not found`));
  });
});

describe("MCP: errors", () => {
  it("turns API errors into tool errors whose text starts with the code", async () => {
    const notFound = await call(full, "get_task", { task_id: "AT-9999" });
    expect(notFound.isError).toBe(true);
    expect(text(notFound)).toMatch(/^NOT_FOUND: /);

    const task = ok(await call(full, "create_task", { title: "Still in the inbox", project_key: "AT" })) as {
      task: { task_key: string };
    };
    const conflict = await call(full, "review_task", { task_id: task.task.task_key });
    expect(conflict.isError).toBe(true);
    expect(text(conflict)).toMatch(/^CONFLICT: .*inbox/);

    for (const [name, args, path] of [
      ["create_task", { title: "" }, "title"],
      ["create_task", { title: "x", id: "AT-1" }, "id"],
      ["create_task", { title: "x", project_key: "AT", idempotency_key: "has space" }, "idempotency_key"],
      ["plan_task", { task_id: task.task.task_key }, "planMarkdown"],
      ["start_task", { task_id: task.task.task_key, lifecycle_action: "review" }, "lifecycle_action"],
      ["update_task", { task_id: task.task.task_key, version: 3 }, "version"],
      ["update_task", { task_id: task.task.task_key, priority: "urgent" }, "priority"],
      ["list_tasks", { limit: 500 }, "limit"],
      ["list_tasks", { cursor: "not-a-cursor" }, "cursor"],
      ["get_task", {}, "task_id"],
    ] as const) {
      const result = await call(full, name, args);
      expect(result.isError, `${name} ${JSON.stringify(args)}`).toBe(true);
      const [first, detailLine] = text(result).split("\n");
      expect(first).toMatch(/^VALIDATION_ERROR: /);
      expect(JSON.parse(detailLine!).details.map((d: { path: string }) => d.path)).toContain(path);
    }
    // The task changed in none of those calls.
    expect((await api.call("GET", `/api/tasks/${task.task.task_key}`)).json.task.version).toBe(1);
  });

  it("answers an unknown tool with invalid-params", async () => {
    const error = await full.callTool({ name: "drop_database", arguments: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(ErrorCode.InvalidParams);
  });

  it("gives a read token a FORBIDDEN tool error on every write tool, changes nothing and records it", async () => {
    const before = auditRows().length;
    const tasksBefore = (await api.call("GET", "/api/tasks")).json.tasks.length;
    for (const name of ALL_TOOLS.filter((t) => !READ_TOOLS.includes(t))) {
      const result = await call(read, name, { task_id: "AT-1", title: "nope", plan_markdown: "x" });
      expect(result.isError, name).toBe(true);
      expect(text(result), name).toBe("FORBIDDEN: Insufficient permissions");
    }
    expect(auditRows()).toHaveLength(before);
    expect((await api.call("GET", "/api/tasks")).json.tasks).toHaveLength(tasksBefore);
    // Repeats from one client within a minute coalesce on one row (the first call's details) with a count.
    const writeTools = ALL_TOOLS.length - READ_TOOLS.length;
    const events = api.rows<{ details: string; count: number }>(
      "select details, count from security_events where type = 'forbidden'",
    );
    const tools = events.map((e) => JSON.parse(e.details) as { tool?: string; reason: string; token_id: number });
    expect(tools).toContainEqual(
      expect.objectContaining({ tool: "create_task", reason: "read_scope", token_id: tokenId("agent-read") }),
    );
    expect(events.reduce((n, e) => n + e.count, 0)).toBeGreaterThanOrEqual(writeTools);
  });
});

describe("MCP: HTTP-level guard", () => {
  it("answers no token and a bad token with 401, WWW-Authenticate and the documented body", async () => {
    const none = await post(toolsCall("list_projects", {}), {}, null);
    expect(none.status).toBe(401);
    // On /mcp the challenge also names the OAuth protected resource metadata (contract §9).
    const resourceMetadata = `resource_metadata="${api.server.url}/.well-known/oauth-protected-resource/mcp"`;
    expect(none.headers.get("www-authenticate")).toBe(`Bearer realm="preqstation", ${resourceMetadata}`);
    expect(await none.json()).toEqual({ error: { code: "UNAUTHORIZED", message: "Missing or invalid authorization header" } });

    const bad = await post(toolsCall("list_projects", {}), {}, `preq_${"x".repeat(32)}`);
    expect(bad.status).toBe(401);
    expect(bad.headers.get("www-authenticate")).toBe(`Bearer realm="preqstation", ${resourceMetadata}, error="invalid_token"`);
    expect(await bad.json()).toEqual({ error: { code: "UNAUTHORIZED", message: "Missing or invalid authorization header" } });

    // The SDK client sees the same refusal when it connects.
    const error = await connect(`preq_${"y".repeat(32)}`).catch((e: unknown) => e);
    expect((error as { code?: number }).code).toBe(401);
    expect(String(error)).toContain("UNAUTHORIZED");
    const events = api.rows<{ details: string }>(
      "select details from security_events where type = 'bearer_auth' and path = '/mcp'",
    );
    expect(events.map((e) => JSON.parse(e.details).reason)).toEqual(expect.arrayContaining(["missing", "unknown"]));
  });

  it("refuses a present foreign Origin with 403, even with a valid token, and accepts its own origin", async () => {
    const foreign = await post(toolsCall("list_projects", {}), { Origin: "https://evil.example" });
    expect(foreign.status).toBe(403);
    expect(await foreign.json()).toEqual({
      error: { code: "FORBIDDEN", message: "Requests from another origin are not allowed" },
    });
    const nullOrigin = await post(toolsCall("list_projects", {}), { Origin: "null" });
    expect(nullOrigin.status).toBe(403);
    const events = api.rows<{ details: string }>(
      "select details from security_events where type = 'csrf_blocked' and path = '/mcp'",
    );
    expect(events.map((e) => JSON.parse(e.details).seen)).toContain("https://evil.example");

    const own = await post(toolsCall("list_projects", {}), { Origin: api.server.origin });
    expect(own.status).toBe(200);
    expect(((await own.json()) as { result: { structuredContent: unknown } }).result.structuredContent).toEqual(
      (await api.call("GET", "/api/projects")).json,
    );
  });

  it("answers GET and DELETE with 405 and Allow: POST", async () => {
    for (const method of ["GET", "DELETE", "PUT"]) {
      const res = await fetch(`${api.server.url}/mcp`, {
        method,
        headers: { Authorization: `Bearer ${api.fullToken}`, Accept: "text/event-stream" },
      });
      expect(res.status, method).toBe(405);
      expect(res.headers.get("allow")).toBe("POST");
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("METHOD_NOT_ALLOWED");
    }
  });

  it("refuses batches, bad JSON, a wrong media type and an oversized body without running anything", async () => {
    const before = auditRows().length;
    const batch = await post([
      toolsCall("create_task", { title: "a", project_key: "AT" }, 1),
      toolsCall("create_task", { title: "b", project_key: "AT" }, 2),
    ]);
    expect(batch.status).toBe(400);
    expect(((await batch.json()) as { error: { code: number } }).error.code).toBe(-32600);
    const badJson = await post("{not json");
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as { error: { code: number } }).error.code).toBe(-32700);
    const form = await post("a=b", { "Content-Type": "application/x-www-form-urlencoded" });
    expect(form.status).toBe(415);
    // Oversized, declared and chunked: refused before parsing, in the API's shape. Connection: close,
    // since the server answers before reading everything and drops the connection.
    const tooLarge = { error: { code: "PAYLOAD_TOO_LARGE", message: "Request body must be at most 1048576 bytes" } };
    const oversized = JSON.stringify(
      toolsCall("create_task", { title: "x", project_key: "AT", description: "y".repeat(1024 * 1024) }),
    );
    const declared = await post(oversized, { Connection: "close" });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toEqual(tooLarge);
    const chunks = [oversized.slice(0, 600_000), oversized.slice(600_000)];
    const chunked = await fetch(`${api.server.url}/mcp`, {
      method: "POST",
      headers: {
        Accept: "application/json, text/event-stream",
        "Content-Type": "application/json",
        Authorization: `Bearer ${api.fullToken}`,
        Connection: "close",
      },
      body: new ReadableStream<Uint8Array>({
        pull(controller) {
          const next = chunks.shift();
          if (next === undefined) controller.close();
          else controller.enqueue(new TextEncoder().encode(next));
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(await chunked.json()).toEqual(tooLarge);
    expect(auditRows()).toHaveLength(before);
  });
});

describe("MCP: one JSON reader with /api", () => {
  // Built from text, so `__proto__` is an own key (as JSON.parse keeps it), not the prototype.
  const withProto = (taskId: string) =>
    JSON.parse(`{"task_id": "${taskId}", "title": "Renamed", "__proto__": {"title": "polluted"}}`) as Record<string, unknown>;
  const nested = (taskId: string) =>
    JSON.parse(`{"task_id": "${taskId}", "result": {"summary": "ok", "constructor": {"prototype": {"x": 1}}}}`) as Record<
      string,
      unknown
    >;

  it("refuses a __proto__ key in a tool's arguments through the SDK client, as PATCH /api refuses it, and changes nothing", async () => {
    const created = ok(await call(full, "create_task", { title: "Untouchable", project_key: "AT" })) as {
      task: { task_key: string };
    };
    const key = created.task.task_key;
    const before = auditRows().length;

    const viaSdk = await call(full, "update_task", withProto(key)).catch((e: unknown) => e);
    expect(viaSdk).toBeInstanceOf(Error);
    expect((viaSdk as { code?: number }).code).toBe(400);
    expect(String(viaSdk)).toContain(
      'VALIDATION_ERROR: Request body failed validation (params.arguments.__proto__: the key \\"__proto__\\" is not allowed)',
    );
    const nestedViaSdk = await call(full, "complete_task", nested(key)).catch((e: unknown) => e);
    expect((nestedViaSdk as { code?: number }).code).toBe(400);
    expect(String(nestedViaSdk)).toContain("params.arguments.result.constructor");

    // The same fields to the API: the same refusal, the same path (less the JSON-RPC envelope).
    const { task_id: _id, ...fields } = withProto(key);
    const viaApi = await api.call("PATCH", `/api/tasks/${key}`, {
      raw: JSON.stringify(fields),
      headers: { "Content-Type": "application/json" },
    });
    expect(viaApi.status).toBe(400);
    expect(viaApi.json.error.code).toBe("VALIDATION_ERROR");
    expect(viaApi.json.error.details).toEqual([{ path: "__proto__", message: 'The key "__proto__" is not allowed' }]);

    const task = (await api.call("GET", `/api/tasks/${key}`)).json.task;
    expect(task).toMatchObject({ title: "Untouchable", version: 1, result: null });
    expect(auditRows()).toHaveLength(before);
  });

  it("answers a raw POST with __proto__ inside the tool arguments with a JSON-RPC invalid-params 400 carrying the API's details", async () => {
    const created = ok(await call(full, "create_task", { title: "Raw target", project_key: "AT" })) as {
      task: { task_key: string };
    };
    const key = created.task.task_key;
    const before = auditRows().length;
    const raw = `{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "update_task", "arguments": {"task_id": "${key}", "priority": "high", "__proto__": {"priority": "low"}}}}`;
    const res = await post(raw);
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({
      jsonrpc: "2.0",
      id: null,
      error: {
        code: ErrorCode.InvalidParams,
        message:
          'VALIDATION_ERROR: Request body failed validation (params.arguments.__proto__: the key "__proto__" is not allowed)',
        data: { details: [{ path: "params.arguments.__proto__", message: 'The key "__proto__" is not allowed' }] },
      },
    });
    // Outside the params: invalid-request.
    const top = await post(`{"jsonrpc": "2.0", "id": 8, "method": "tools/list", "__proto__": {}}`);
    expect(top.status).toBe(400);
    expect(((await top.json()) as { error: { code: number } }).error.code).toBe(ErrorCode.InvalidRequest);

    expect((await api.call("GET", `/api/tasks/${key}`)).json.task).toMatchObject({ priority: "none", version: 1 });
    expect(auditRows()).toHaveLength(before);
  });
});

/** POST /mcp over a plain socket, every header as given (fetch cannot forge Host): a DNS-rebound browser's request. */
function rawPost(
  server: TestServer,
  token: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: { error?: { code: string | number; message: string }; result?: unknown } }> {
  const data = JSON.stringify(toolsCall("list_projects", {}));
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: server.port,
        path: "/mcp",
        method: "POST",
        headers: {
          Accept: "application/json, text/event-stream",
          "Content-Type": "application/json",
          "Content-Length": String(Buffer.byteLength(data)),
          Authorization: `Bearer ${token}`,
          Connection: "close",
          ...headers,
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode!, body: JSON.parse(text) as never }));
      },
    );
    req.once("error", reject);
    req.end(data);
  });
}

describe("MCP: DNS rebinding (a forged Host with the matching Origin)", () => {
  const FORBIDDEN_ORIGIN = { code: "FORBIDDEN", message: "Requests from another origin are not allowed" };
  const csrfEvents = (server: ApiServer) =>
    server
      .rows<{ details: string }>("select details from security_events where type = 'csrf_blocked' and path = '/mcp'")
      .map((e) => JSON.parse(e.details) as { reason: string; seen: string });

  it("with PUBLIC_ORIGIN, answers only its host: a rebound name is a 403 and a security event whatever the Origin says", async () => {
    const pub = await startApiServer({
      API_RATE_LIMIT: "1000000/1m",
      PUBLIC_ORIGIN: "https://preq.example.com",
      ALLOWED_ORIGINS: "https://console.example.net",
    });
    try {
      const evil = `evil.example:${pub.server.port}`;
      const rebound = await rawPost(pub.server, pub.fullToken, { Host: evil, Origin: `http://${evil}` });
      expect(rebound.status).toBe(403);
      expect(rebound.body).toEqual({
        error: {
          code: "FORBIDDEN",
          message: "This endpoint is served under another host name; use https://preq.example.com/mcp",
        },
      });
      // An agent without an Origin, at the wrong name (the socket's address), is refused the same way.
      expect((await rawPost(pub.server, pub.fullToken, { Host: `127.0.0.1:${pub.server.port}` })).status).toBe(403);
      expect(csrfEvents(pub)).toEqual(expect.arrayContaining([expect.objectContaining({ reason: "host_mismatch", seen: evil })]));

      // The public name: agents (no Origin) and the two configured origins are served, default port folded.
      for (const headers of [
        { Host: "preq.example.com" },
        { Host: "PREQ.example.com:443" },
        { Host: "preq.example.com", Origin: "https://preq.example.com" },
        { Host: "preq.example.com", Origin: "https://console.example.net" },
      ] as Record<string, string>[]) {
        const res = await rawPost(pub.server, pub.fullToken, headers);
        expect(res.status, JSON.stringify(headers)).toBe(200);
        expect((res.body.result as { structuredContent: unknown }).structuredContent).toEqual({ projects: [] });
      }
      // The public host with a page elsewhere, or an Origin built from the Host on plain http: refused.
      for (const origin of ["https://evil.example", "http://preq.example.com"]) {
        const res = await rawPost(pub.server, pub.fullToken, { Host: "preq.example.com", Origin: origin });
        expect(res.status, origin).toBe(403);
        expect(res.body).toEqual({ error: FORBIDDEN_ORIGIN });
      }
      expect(pub.rows("select seq from audit_log where action like 'task.%'")).toEqual([]);
      // The pages' same-origin check trusts PUBLIC_ORIGIN as it trusts ALLOWED_ORIGINS.
      const fields = { email: "owner@example.com", password: "not the password" };
      const fromPublic = await postForm(pub.server, "/login", fields, { headers: { Origin: "https://preq.example.com" } });
      expect(fromPublic.status).toBe(401);
      const fromElsewhere = await postForm(pub.server, "/login", fields, { headers: { Origin: "https://evil.example" } });
      expect(fromElsewhere.status).toBe(403);
    } finally {
      await pub.stop();
    }
  });

  it("with ALLOWED_ORIGINS only, a browser's Origin must be a listed one: the Host-derived origin no longer counts", async () => {
    const listed = await startApiServer({ API_RATE_LIMIT: "1000000/1m", ALLOWED_ORIGINS: "https://preq.example.com" });
    try {
      const evil = `evil.example:${listed.server.port}`;
      const rebound = await rawPost(listed.server, listed.fullToken, { Host: evil, Origin: `http://${evil}` });
      expect(rebound.status).toBe(403);
      expect(rebound.body).toEqual({ error: FORBIDDEN_ORIGIN });
      expect(csrfEvents(listed)).toContainEqual(expect.objectContaining({ reason: "origin_mismatch", seen: `http://${evil}` }));
      const allowed = await rawPost(listed.server, listed.fullToken, { Host: evil, Origin: "https://preq.example.com" });
      expect(allowed.status).toBe(200);
      // Agents send no Origin, at any name.
      expect((await rawPost(listed.server, listed.fullToken, { Host: `localhost:${listed.server.port}` })).status).toBe(200);
    } finally {
      await listed.stop();
    }
  });
});

describe("MCP: records", () => {
  it("leaves exactly one audit entry per successful write call, with the token as actor and channel mcp; the API's say api", async () => {
    const before = auditRows().at(-1)?.seq ?? 0;
    const created = ok(await call(full, "create_task", { title: "Audited", project_key: "AT" })) as {
      task: { task_key: string };
    };
    const key = created.task.task_key;
    ok(await call(full, "plan_task", { task_id: key, planMarkdown: "plan" }));
    ok(await call(full, "start_task", { task_id: key }));
    ok(await call(read, "get_task", { task_id: key })); // reads leave nothing
    await call(full, "review_task", { task_id: key }); // a CONFLICT leaves nothing
    ok(await call(full, "complete_task", { task_id: key }));
    ok(await call(full, "delete_task", { task_id: key }));
    const viaApi = await api.call("POST", "/api/tasks", { body: { title: "Through the API", project_key: "AT" } });
    expect(viaApi.status).toBe(201);

    const rows = auditRows().filter((r) => r.seq > before);
    const id = String(tokenId("agent-full"));
    expect(rows.map((r) => [r.action, r.resource_id, r.actor_type, r.actor_id, r.channel])).toEqual([
      ["task.create", key, "token", id, "mcp"],
      ["task.update", key, "token", id, "mcp"],
      ["task.claim", key, "token", id, "mcp"],
      ["task.update", key, "token", id, "mcp"],
      ["task.delete", key, "token", id, "mcp"],
      ["task.create", viaApi.json.task.task_key, "token", id, "api"],
    ]);
    // The owner's audit console tells the two doors apart.
    const cookie = await signIn(api.server);
    const page = await getPage(api.server, `/settings/audit-logs?resource_id=${key}`, cookie);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<th scope="col">Via</th>');
    expect(html.match(/<td>MCP<\/td>/g)).toHaveLength(5);
    const apiPage = await (
      await getPage(api.server, `/settings/audit-logs?resource_id=${viaApi.json.task.task_key}`, cookie)
    ).text();
    expect(apiPage.match(/<td>API<\/td>/g)).toHaveLength(1);
    // The channel is part of each entry's hash, and the chain still verifies end to end.
    const verify = await runCli(["audit", "verify"], { dbPath: api.server.dbPath });
    expect(verify.code, verify.stderr).toBe(0);
  });

  it("replays create_task for the same idempotency_key and arguments, and refuses the key with other arguments", async () => {
    const before = auditRows().length;
    const args = { title: "Exactly once", project_key: "AT", labels: ["retry"], idempotency_key: "run-42:create" };
    const first = await call(full, "create_task", args);
    const firstContent = ok(first) as { task: { task_key: string } };
    expect(first._meta?.["preqstation/idempotent_replayed"]).toBeUndefined();
    // Same arguments, another order: a retry.
    const again = await call(full, "create_task", {
      idempotency_key: "run-42:create",
      labels: ["retry"],
      project_key: "AT",
      title: "Exactly once",
    });
    expect(ok(again)).toEqual(firstContent);
    expect(again._meta?.["preqstation/idempotent_replayed"]).toBe(true);
    expect(auditRows()).toHaveLength(before + 1);

    const other = await call(full, "create_task", { ...args, title: "Something else" });
    expect(other.isError).toBe(true);
    expect(text(other)).toMatch(/^CONFLICT: /);
    expect(auditRows()).toHaveLength(before + 1);
    const listed = (await api.call("GET", "/api/tasks?label=retry")).json.tasks as unknown[];
    expect(listed).toHaveLength(1);
  });
});

describe("MCP: fuzzed arguments", () => {
  it("never answer with a 5xx or a protocol error other than invalid-params", async () => {
    const task = ok(await call(full, "create_task", { title: "Fuzz target", project_key: "AT" })) as {
      task: { task_key: string };
    };
    const value = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.constantFrom("AT-1", task.task.task_key, "", "inbox", "plan", "%_", "\u0000", "a".repeat(300)),
      fc.array(fc.string({ maxLength: 10 }), { maxLength: 25 }),
      fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
    );
    const keys = fc.constantFrom(
      "task_id",
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
      "result",
      "planMarkdown",
      "plan_markdown",
      "lifecycle_action",
      "limit",
      "cursor",
      "q",
      "label",
      "run_state",
      "updated_since",
      "idempotency_key",
      "id",
      "__proto__",
      "constructor",
    );
    const args = fc.oneof(fc.dictionary(keys, value, { maxKeys: 6 }), fc.jsonValue({ maxDepth: 2 }));
    let id = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ALL_TOOLS, "no_such_tool"), args, async (name, input) => {
        const res = await post(toolsCall(name, input, ++id));
        expect(res.status, `${name} ${JSON.stringify(input)}`).toBeLessThan(500);
        const body = (await res.json()) as { result?: CallToolResult; error?: { code: number } };
        if (body.error) {
          expect(body.error.code, `${name} ${JSON.stringify(input)}`).toBe(ErrorCode.InvalidParams);
        } else {
          expect(res.status).toBe(200);
          const result = body.result!;
          if (result.isError) expect(text(result)).toMatch(/^(VALIDATION_ERROR|NOT_FOUND|CONFLICT): /);
        }
      }),
      { numRuns: 250 },
    );
  });
});

describe("MCP: rate limiting", () => {
  it("counts each POST /mcp against the token's API budget and answers 429 RATE_LIMITED past it", async () => {
    const limited = await startServer({ env: { API_RATE_LIMIT: "4/1m" } });
    try {
      await setupOwner(limited);
      const token = await createToken(limited, "agent");
      const send = () =>
        fetch(`${limited.url}/mcp`, {
          method: "POST",
          headers: {
            Accept: "application/json, text/event-stream",
            "Content-Type": "application/json",
            Authorization: `Bearer ${token}`,
          },
          body: JSON.stringify(toolsCall("list_projects", {})),
        });
      const remaining: string[] = [];
      for (let i = 0; i < 4; i += 1) {
        const res = await send();
        expect(res.status).toBe(200);
        remaining.push(res.headers.get("x-ratelimit-remaining")!);
      }
      expect(remaining).toEqual(["3", "2", "1", "0"]);
      const over = await send();
      expect(over.status).toBe(429);
      expect(Number(over.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(((await over.json()) as { error: { code: string } }).error.code).toBe("RATE_LIMITED");
    } finally {
      await limited.stop();
    }
  });
});
