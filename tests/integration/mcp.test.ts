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
import { SKILL_READ_TOOLS, SKILL_TOOL_NAMES, SKILL_TOOLS, SKILL_WRITE_TOOLS } from "../support/mcp-skill";
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

const ALL_TOOLS = SKILL_TOOL_NAMES;
const READ_TOOLS = SKILL_READ_TOOLS;
const WRITE_TOOLS = SKILL_WRITE_TOOLS;
const REPO_URL = "https://github.com/acme/tools";

describe("MCP: initialize and tools/list", () => {
  it("initializes statelessly: server info, the tools capability, and no session id", async () => {
    expect(full.getServerVersion()).toMatchObject({ name: "preqstation" });
    expect(full.getServerCapabilities()?.tools).toBeDefined();
    expect(full.getInstructions()).toContain("preq_agent_guide");
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

  it("lists the skill's tools to a full token, each with the skill's argument names, output schemas and the read/destructive hints", async () => {
    const { tools } = await full.listTools();
    expect(tools.map((t) => t.name)).toEqual(ALL_TOOLS);
    for (const tool of tools) {
      const skill = SKILL_TOOLS[tool.name]!;
      expect(tool.inputSchema.type).toBe("object");
      expect(Object.keys(tool.inputSchema.properties ?? {}), tool.name).toEqual(skill.args);
      expect(tool.inputSchema.required ?? [], tool.name).toEqual(skill.required);
      expect(tool.outputSchema?.type).toBe("object");
      expect(tool.annotations?.readOnlyHint, tool.name).toBe(READ_TOOLS.includes(tool.name));
      if (!READ_TOOLS.includes(tool.name)) {
        expect(tool.annotations?.destructiveHint, tool.name).toBe(tool.name === "preq_delete_task");
      }
    }
    // None of the earlier names is left.
    for (const old of ["list_tasks", "create_task", "update_task", "get_task", "plan_task", "delete_task"]) {
      expect(tools.map((t) => t.name)).not.toContain(old);
    }
  });

  it("lists only the read tools to a read token", async () => {
    const { tools } = await read.listTools();
    expect(tools.map((t) => t.name)).toEqual(READ_TOOLS);
    expect(tools.every((t) => t.annotations?.readOnlyHint === true)).toBe(true);
  });

  it("answers preq_agent_guide with the Markdown guide to the workflow, for any token", async () => {
    const { guide } = ok(await call(read, "preq_agent_guide")) as { guide: string };
    expect(guide).toMatch(/^# /);
    for (const step of ["preq_list_tasks", "preq_plan_task", "preq_start_task", "preq_complete_task", "preq_block_task"]) {
      expect(guide).toContain(step);
    }
    const forCodex = ok(await call(full, "preq_agent_guide", { engine: "codex" })) as { guide: string };
    expect(forCodex.guide).toContain('engine: "codex"');
    const bad = await call(full, "preq_agent_guide", { engine: "Not An Engine!" });
    expect(bad.isError).toBe(true);
    expect(text(bad)).toMatch(/^VALIDATION_ERROR: .*engine/);
  });
});

describe("MCP: the skill's lifecycle through tools, each result the API's JSON", () => {
  /** The tool's task equals GET /api/tasks/:key, and the call left exactly one audit entry, channel mcp. */
  async function step(name: string, args: Record<string, unknown>, action: string) {
    const before = auditRows().at(-1)?.seq ?? 0;
    const content = ok(await call(full, name, args)) as { task: Record<string, unknown> & { task_key: string } };
    const viaApi = await api.call("GET", `/api/tasks/${content.task.task_key}`);
    expect(viaApi.status).toBe(200);
    expect(content).toEqual(viaApi.json);
    const rows = auditRows().filter((r) => r.seq > before);
    expect(
      rows.map((r) => [r.action, r.resource_id, r.actor_type, r.actor_id, r.channel]),
      name,
    ).toEqual([[action, content.task.task_key, "token", String(tokenId("agent-full")), "mcp"]]);
    return content.task;
  }

  it("create from a repo URL → plan → start → complete with a result → review, each step visible through the API and the audit log", async () => {
    const created = await step(
      "preq_create_task",
      { title: "Wire the MCP endpoint", repo: `${REPO_URL}.git`, labels: ["backend"], priority: "high" },
      "task.create",
    );
    expect(created).toMatchObject({ project_key: "AT", status: "inbox", priority: "high", labels: ["backend"], version: 1 });
    expect(created.repo).toBe("acme/tools");
    const key = created.task_key;

    const planned = await step(
      "preq_plan_task",
      {
        projectKey: "at",
        taskId: key.toLowerCase(),
        planMarkdown: "1. route\n2. tools",
        acceptanceCriteria: ["tools are listed"],
        engine: "claude-code",
      },
      "task.update",
    );
    expect(planned).toMatchObject({
      status: "todo",
      plan_markdown: "1. route\n2. tools",
      acceptance_criteria: ["tools are listed"],
      engine: "claude-code",
      run_state: null,
    });

    const started = await step(
      "preq_start_task",
      { taskId: created.uuid, engine: "claude-code", leaseSeconds: 600 },
      "task.claim",
    );
    expect(started).toMatchObject({ status: "todo", run_state: "working", claimed_by: { type: "token", name: "agent-full" } });
    const leaseLeft = Date.parse(started.lease_expires_at as string) - Date.now();
    expect(leaseLeft).toBeGreaterThan(500_000);
    expect(leaseLeft).toBeLessThanOrEqual(600_000);

    const completed = await step(
      "preq_complete_task",
      {
        taskId: key,
        summary: "Endpoint wired",
        tests: "npm test: 12 passed",
        prUrl: "https://github.com/acme/tools/pull/7",
        notes: "Needs a follow-up for batching",
        branchName: "feat/mcp",
        artifacts: [{ type: "log", title: "CI run", url: "https://ci.example.com/runs/1" }],
        engine: "claude-code",
      },
      "task.update",
    );
    expect(completed).toMatchObject({
      status: "ready",
      run_state: null,
      claimed_by: null,
      result: {
        summary: "Endpoint wired",
        tests: "npm test: 12 passed",
        pr_url: "https://github.com/acme/tools/pull/7",
        notes: "Needs a follow-up for batching",
        branch_name: "feat/mcp",
        artifacts: [{ type: "log", title: "CI run", url: "https://ci.example.com/runs/1" }],
      },
    });

    const reviewed = await step("preq_review_task", { taskId: key, summary: "Verified: tests pass" }, "task.update");
    expect(reviewed).toMatchObject({ status: "done", version: 5 });
    // The review's summary joins the completion's result; nothing of it is lost.
    expect(reviewed.result).toEqual({ ...(completed.result as object), review_summary: "Verified: tests pass" });

    // The board's task page shows the result the agent sent.
    const cookie = await signIn(api.server);
    const page = await (await getPage(api.server, `/tasks/${key}`, cookie)).text();
    expect(page).toContain("Endpoint wired");
    expect(page).toContain("https://github.com/acme/tools/pull/7");
  });

  it("block with a reason puts the task on hold with block_reason; a status change and delete follow the API", async () => {
    const other = await step("preq_create_task", { title: "Blocked one", repo: "acme/tools" }, "task.create");
    const blocked = await step(
      "preq_block_task",
      { taskId: other.task_key, reason: "Waiting for the API key", engine: "codex" },
      "task.update",
    );
    expect(blocked).toMatchObject({ status: "hold", block_reason: "Waiting for the API key", engine: "codex" });
    const cookie = await signIn(api.server);
    expect(await (await getPage(api.server, `/tasks/${other.task_key}`, cookie)).text()).toContain("Waiting for the API key");

    const moved = await step("preq_update_task_status", { taskId: other.task_key, status: "todo" }, "task.status");
    expect(moved).toMatchObject({ status: "todo", block_reason: null });

    // The read tools answer exactly what the read routes answer.
    expect(ok(await call(read, "preq_list_projects"))).toEqual((await api.call("GET", "/api/projects")).json);
    expect(ok(await call(read, "preq_get_project_settings", { projectKey: "at" }))).toEqual(
      (await api.call("GET", "/api/projects/AT/settings")).json,
    );
    expect(ok(await call(read, "preq_list_tasks", { projectKey: "at", limit: 1 }))).toEqual(
      (await api.call("GET", "/api/tasks?project_key=at&limit=1")).json,
    );
    expect(ok(await call(read, "preq_list_tasks", { status: "todo", detail: "full" }))).toEqual(
      (await api.call("GET", "/api/tasks?status=todo")).json,
    );
    // detail simple: the same page, each task cut to the fields to pick work by (values unchanged).
    const viaApi = (await api.call("GET", "/api/tasks?status=todo")).json as { tasks: Record<string, unknown>[] };
    const simple = ok(await call(read, "preq_list_tasks", { status: "todo", detail: "simple" })) as typeof viaApi;
    expect(simple.tasks.map((t) => t.task_key)).toEqual(viaApi.tasks.map((t) => t.task_key));
    for (const [i, task] of simple.tasks.entries()) {
      expect(Object.keys(task)).toEqual(expect.arrayContaining(["task_key", "title", "status", "priority", "run_state"]));
      expect(Object.keys(task)).not.toContain("description");
      for (const [field, value] of Object.entries(task)) expect(value, field).toEqual(viaApi.tasks[i]![field]);
    }
    expect(ok(await call(read, "preq_list_tasks", { runState: "working" }))).toEqual(
      (await api.call("GET", "/api/tasks?run_state=working")).json,
    );
    expect(ok(await call(read, "preq_get_task", { taskId: other.task_key }))).toEqual(
      (await api.call("GET", `/api/tasks/${other.task_key}`)).json,
    );

    const before = auditRows().at(-1)!.seq;
    expect(ok(await call(full, "preq_delete_task", { taskId: other.task_key }))).toEqual({ ok: true });
    expect(
      auditRows()
        .filter((r) => r.seq > before)
        .map((r) => [r.action, r.channel]),
    ).toEqual([["task.delete", "mcp"]]);
    const gone = await call(full, "preq_get_task", { taskId: other.task_key });
    expect(gone.isError).toBe(true);
    expect(text(gone)).toMatch(new RegExp(`^NOT_FOUND: Task ${other.task_key} not found`));
    expect((await api.call("GET", `/api/tasks/${other.task_key}`)).status).toBe(404);
  });
});

describe("MCP: errors", () => {
  it("turns API errors into tool errors whose text starts with the code", async () => {
    const notFound = await call(full, "preq_get_task", { taskId: "AT-9999" });
    expect(notFound.isError).toBe(true);
    expect(text(notFound)).toMatch(/^NOT_FOUND: /);
    expect(text(await call(full, "preq_get_project_settings", { projectKey: "NOPE" }))).toMatch(/^NOT_FOUND: /);
    expect(text(await call(full, "preq_create_task", { title: "x", repo: "https://github.com/acme/elsewhere" }))).toMatch(
      /^(NOT_FOUND|VALIDATION_ERROR): .*repo/,
    );

    const task = ok(await call(full, "preq_create_task", { title: "Still in the inbox", repo: REPO_URL })) as {
      task: { task_key: string };
    };
    const key = task.task.task_key;
    const conflict = await call(full, "preq_review_task", { taskId: key });
    expect(conflict.isError).toBe(true);
    expect(text(conflict)).toMatch(/^CONFLICT: .*inbox/);
    expect(text(await call(full, "preq_complete_task", { taskId: key, summary: "too early" }))).toMatch(/^CONFLICT: .*inbox/);

    for (const [name, args, path] of [
      ["preq_create_task", { title: "", repo: REPO_URL }, "title"],
      ["preq_create_task", { title: "x" }, "repo"],
      ["preq_create_task", { title: "x", repo: REPO_URL, id: "AT-1" }, "id"],
      ["preq_create_task", { title: "x", repo: REPO_URL, project_key: "AT" }, "project_key"],
      ["preq_create_task", { title: "x", repo: REPO_URL, acceptanceCriteria: [""] }, "acceptanceCriteria.0"],
      ["preq_create_task", { title: "x", repo: REPO_URL, idempotencyKey: "has space" }, "idempotencyKey"],
      ["preq_plan_task", { projectKey: "AT", taskId: key, planMarkdown: "" }, "planMarkdown"],
      ["preq_plan_task", { projectKey: "AT", taskId: key }, "planMarkdown"],
      ["preq_plan_task", { projectKey: "XY", taskId: key, planMarkdown: "plan" }, "projectKey"],
      ["preq_start_task", { taskId: key, lifecycle_action: "review" }, "lifecycle_action"],
      ["preq_start_task", { taskId: key, lease_seconds: 60 }, "lease_seconds"],
      ["preq_start_task", { taskId: key, leaseSeconds: 5 }, "leaseSeconds"],
      ["preq_complete_task", { taskId: key }, "summary"],
      ["preq_complete_task", { taskId: key, summary: "s", prUrl: "javascript:alert(1)" }, "prUrl"],
      ["preq_complete_task", { taskId: key, summary: "s", result: { x: 1 } }, "result"],
      ["preq_block_task", { taskId: key }, "reason"],
      ["preq_block_task", { taskId: key, reason: "   " }, "reason"],
      ["preq_update_task_status", { taskId: key, status: "in_progress" }, "status"],
      ["preq_update_task_status", { taskId: key, status: "todo", version: 3 }, "version"],
      ["preq_list_tasks", { limit: 500 }, "limit"],
      ["preq_list_tasks", { cursor: "not-a-cursor" }, "cursor"],
      ["preq_list_tasks", { detail: "everything" }, "detail"],
      ["preq_list_tasks", { project_key: "AT" }, "project_key"],
      ["preq_get_task", {}, "taskId"],
      ["preq_get_task", { task_id: key }, "task_id"],
    ] as const) {
      const result = await call(full, name, args);
      expect(result.isError, `${name} ${JSON.stringify(args)}`).toBe(true);
      const [first, detailLine] = text(result).split("\n");
      expect(first, `${name} ${JSON.stringify(args)}`).toMatch(/^VALIDATION_ERROR: /);
      expect(JSON.parse(detailLine!).details.map((d: { path: string }) => d.path)).toContain(path);
    }
    // The task changed in none of those calls.
    expect((await api.call("GET", `/api/tasks/${key}`)).json.task.version).toBe(1);
  });

  it("answers an unknown tool (an earlier name included) with invalid-params", async () => {
    for (const name of ["drop_database", "create_task", "list_tasks"]) {
      const error = await full.callTool({ name, arguments: {} }).catch((e: unknown) => e);
      expect(error, name).toBeInstanceOf(McpError);
      expect((error as McpError).code).toBe(ErrorCode.InvalidParams);
    }
  });

  it("gives a read token a FORBIDDEN tool error on every write tool, changes nothing and records it", async () => {
    const before = auditRows().length;
    const tasksBefore = (await api.call("GET", "/api/tasks")).json.tasks.length;
    for (const name of WRITE_TOOLS) {
      const result = await call(read, name, { taskId: "AT-1", title: "nope", repo: REPO_URL, planMarkdown: "x" });
      expect(result.isError, name).toBe(true);
      expect(text(result), name).toBe("FORBIDDEN: Insufficient permissions");
    }
    expect(auditRows()).toHaveLength(before);
    expect((await api.call("GET", "/api/tasks")).json.tasks).toHaveLength(tasksBefore);
    // Repeats from one client within a minute coalesce on one row (the first call's details) with a count.
    const events = api.rows<{ details: string; count: number }>(
      "select details, count from security_events where type = 'forbidden'",
    );
    const tools = events.map((e) => JSON.parse(e.details) as { tool?: string; reason: string; token_id: number });
    expect(tools).toContainEqual(
      expect.objectContaining({ tool: "preq_create_task", reason: "read_scope", token_id: tokenId("agent-read") }),
    );
    expect(events.reduce((n, e) => n + e.count, 0)).toBeGreaterThanOrEqual(WRITE_TOOLS.length);
  });
});

describe("MCP: the note, the conversation with the owner, and the activity", () => {
  const audited = (after: number) =>
    auditRows()
      .filter((r) => r.seq > after)
      .map((r) => [r.action, r.actor_type, r.channel]);

  it("sets the note and artifacts without touching the status, one task.note entry, equal to the API", async () => {
    const created = ok(await call(full, "preq_create_task", { title: "Noted", repo: REPO_URL })) as {
      task: { task_key: string };
    };
    const key = created.task.task_key;
    ok(await call(full, "preq_start_task", { taskId: key }));
    const before = auditRows().at(-1)!.seq;
    const noted = ok(
      await call(full, "preq_update_task_note", {
        taskId: key,
        noteMarkdown: "## Where I am\n- routes done",
        artifacts: [{ type: "pr", title: "Draft PR", url: "https://github.com/acme/tools/pull/9" }],
        engine: "codex",
      }),
    ) as { task: Record<string, unknown> };
    expect(noted.task).toMatchObject({
      status: "inbox",
      run_state: "working",
      note_markdown: "## Where I am\n- routes done",
      artifacts: [{ type: "pr", title: "Draft PR", url: "https://github.com/acme/tools/pull/9" }],
    });
    expect(noted).toEqual((await api.call("GET", `/api/tasks/${key}`)).json);
    expect(audited(before)).toEqual([["task.note", "token", "mcp"]]);

    for (const [args, path] of [
      [
        { taskId: key, noteMarkdown: "x", artifacts: [{ type: "pr", title: "t", url: "javascript:alert(1)" }] },
        "artifacts.0.url",
      ],
      [{ taskId: key, noteMarkdown: "x", engine: "Not An Engine" }, "engine"],
      [{ taskId: key, note_markdown: "x" }, "note_markdown"],
      [{ taskId: key }, "noteMarkdown"],
    ] as const) {
      const refused = await call(full, "preq_update_task_note", args);
      const [first, detailLine] = text(refused).split("\n");
      expect(first, JSON.stringify(args)).toMatch(/^VALIDATION_ERROR: /);
      expect(JSON.parse(detailLine!).details.map((d: { path: string }) => d.path)).toContain(path);
    }
    expect(text(await call(full, "preq_update_task_note", { taskId: "AT-99999", noteMarkdown: "x" }))).toMatch(/^NOT_FOUND: /);
    expect(audited(before)).toHaveLength(1);
  });

  it("owner asks on the task page; the agent reads it, marks it working, replies, marks it done — each step the API's JSON and audited with channel mcp", async () => {
    const created = ok(await call(full, "preq_create_task", { title: "Which approach?", repo: REPO_URL })) as {
      task: { task_key: string };
    };
    const key = created.task.task_key;
    const cookie = await signIn(api.server);
    const asked = await postForm(
      api.server,
      `/tasks/${key}`,
      { intent: "comment", body: "Which approach: **A** or B?" },
      { cookie },
    );
    expect(asked.status).toBeLessThan(400);

    const listed = ok(await call(read, "preq_list_task_comments", { taskId: key.toLowerCase() })) as {
      comments: { id: string; author: unknown; run_state: string | null; body: string }[];
    };
    expect(listed).toEqual((await api.call("GET", `/api/tasks/${key}/comments`)).json);
    expect(listed.comments).toHaveLength(1);
    const question = listed.comments[0]!;
    expect(question).toMatchObject({ author: "owner", run_state: "queued", body: "Which approach: **A** or B?" });
    expect(ok(await call(read, "preq_get_task_comment", { commentId: question.id }))).toEqual(
      (await api.call("GET", `/api/task-comments/${question.id}`)).json,
    );

    const before = auditRows().at(-1)!.seq;
    const working = ok(
      await call(full, "preq_update_task_comment_state", { commentId: question.id, runState: "working", engine: "codex" }),
    ) as { comment: Record<string, unknown> };
    expect(working.comment).toMatchObject({ id: question.id, run_state: "working" });
    expect(working).toEqual((await api.call("GET", `/api/task-comments/${question.id}`)).json);

    const replied = ok(
      await call(full, "preq_reply_task_comment", {
        commentId: question.id,
        body: "A: it keeps one command.",
        noteUpdated: false,
      }),
    ) as { comment: { id: string } & Record<string, unknown> };
    expect(replied.comment).toMatchObject({
      parent_id: question.id,
      task_key: key,
      body: "A: it keeps one command.",
      author: { type: "token", name: "agent-full" },
      run_state: null,
    });
    expect(replied).toEqual((await api.call("GET", `/api/task-comments/${replied.comment.id}`)).json);

    const done = ok(await call(full, "preq_update_task_comment_state", { commentId: question.id, runState: "done" })) as {
      comment: Record<string, unknown>;
    };
    expect(done.comment).toMatchObject({ run_state: "done", error_message: null });
    expect(audited(before)).toEqual([
      ["comment.state", "token", "mcp"],
      ["comment.reply", "token", "mcp"],
      ["comment.state", "token", "mcp"],
    ]);
    // The owner's page shows the reply under the question.
    const page = await (await getPage(api.server, `/tasks/${key}`, cookie)).text();
    expect(page).toContain("A: it keeps one command.");

    // The rules are the API's: a reply to a reply, a state after done, a failure's message elsewhere, a read token.
    expect(text(await call(full, "preq_reply_task_comment", { commentId: replied.comment.id, body: "nested" }))).toMatch(
      /^CONFLICT: /,
    );
    expect(text(await call(full, "preq_update_task_comment_state", { commentId: question.id, runState: "working" }))).toMatch(
      /^CONFLICT: /,
    );
    const misplaced = await call(full, "preq_update_task_comment_state", {
      commentId: question.id,
      runState: "done",
      errorMessage: "x",
    });
    expect(JSON.parse(text(misplaced).split("\n")[1]!).details.map((d: { path: string }) => d.path)).toContain("errorMessage");
    expect(text(await call(full, "preq_reply_task_comment", { commentId: question.id, body: "   " }))).toMatch(
      /^VALIDATION_ERROR: .*body/,
    );
    expect(text(await call(full, "preq_get_task_comment", { commentId: "00000000-0000-4000-8000-000000000000" }))).toMatch(
      /^NOT_FOUND: /,
    );
    expect(text(await call(read, "preq_reply_task_comment", { commentId: question.id, body: "nope" }))).toBe(
      "FORBIDDEN: Insufficient permissions",
    );
    expect(audited(before)).toHaveLength(3);
  });

  it("lists a project's activity over a time range, equal to GET /api/activity, paged by next_cursor", async () => {
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const page = ok(await call(read, "preq_list_project_activity", { from, to, projectKeys: ["at"], limit: 3 })) as {
      activity: { action: string; task_key: string | null }[];
      next_cursor: string | null;
    };
    const query = new URLSearchParams({ from, to, project_key: "AT", limit: "3" });
    expect(page).toEqual((await api.call("GET", `/api/activity?${query}`)).json);
    expect(page.activity).toHaveLength(3);
    expect(page.next_cursor).not.toBeNull();
    const next = ok(
      await call(read, "preq_list_project_activity", { from, to, projectKeys: ["AT"], limit: 3, cursor: page.next_cursor }),
    );
    query.set("cursor", page.next_cursor!);
    expect(next).toEqual((await api.call("GET", `/api/activity?${query}`)).json);
    for (const [args, path] of [
      [{ to }, "from"],
      [{ from: "yesterday", to }, "from"],
      [{ from, to, projectKeys: ["not a key"] }, "projectKeys.0"],
      [{ from, to, project_key: "AT" }, "project_key"],
    ] as const) {
      const refused = await call(read, "preq_list_project_activity", args);
      const [first, detailLine] = text(refused).split("\n");
      expect(first, JSON.stringify(args)).toMatch(/^VALIDATION_ERROR: /);
      expect(JSON.parse(detailLine!).details.map((d: { path: string }) => d.path)).toContain(path);
    }
    expect(text(await call(read, "preq_list_project_activity", { from, to, projectKeys: ["NOPE"] }))).toMatch(/^NOT_FOUND: /);
  });
});

describe("MCP: HTTP-level guard", () => {
  it("answers no token and a bad token with 401, WWW-Authenticate and the documented body", async () => {
    const none = await post(toolsCall("preq_list_projects", {}), {}, null);
    expect(none.status).toBe(401);
    // On /mcp the challenge also names the OAuth protected resource metadata (contract §9).
    const resourceMetadata = `resource_metadata="${api.server.url}/.well-known/oauth-protected-resource/mcp"`;
    expect(none.headers.get("www-authenticate")).toBe(`Bearer realm="preqstation", ${resourceMetadata}`);
    expect(await none.json()).toEqual({ error: { code: "UNAUTHORIZED", message: "Missing or invalid authorization header" } });

    const bad = await post(toolsCall("preq_list_projects", {}), {}, `preq_${"x".repeat(32)}`);
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
    const foreign = await post(toolsCall("preq_list_projects", {}), { Origin: "https://evil.example" });
    expect(foreign.status).toBe(403);
    expect(await foreign.json()).toEqual({
      error: { code: "FORBIDDEN", message: "Requests from another origin are not allowed" },
    });
    const nullOrigin = await post(toolsCall("preq_list_projects", {}), { Origin: "null" });
    expect(nullOrigin.status).toBe(403);
    const events = api.rows<{ details: string }>(
      "select details from security_events where type = 'csrf_blocked' and path = '/mcp'",
    );
    expect(events.map((e) => JSON.parse(e.details).seen)).toContain("https://evil.example");

    const own = await post(toolsCall("preq_list_projects", {}), { Origin: api.server.origin });
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
      toolsCall("preq_create_task", { title: "a", repo: REPO_URL }, 1),
      toolsCall("preq_create_task", { title: "b", repo: REPO_URL }, 2),
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
      toolsCall("preq_create_task", { title: "x", repo: REPO_URL, description: "y".repeat(1024 * 1024) }),
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
    JSON.parse(`{"taskId": "${taskId}", "engine": "codex", "__proto__": {"engine": "polluted"}}`) as Record<string, unknown>;
  const nested = (taskId: string) =>
    JSON.parse(
      `{"taskId": "${taskId}", "summary": "ok", "artifacts": [{"type": "log", "constructor": {"prototype": {"x": 1}}}]}`,
    ) as Record<string, unknown>;

  it("refuses a __proto__ key in a tool's arguments through the SDK client, as PATCH /api refuses it, and changes nothing", async () => {
    const created = ok(await call(full, "preq_create_task", { title: "Untouchable", repo: REPO_URL })) as {
      task: { task_key: string };
    };
    const key = created.task.task_key;
    const before = auditRows().length;

    const viaSdk = await call(full, "preq_start_task", withProto(key)).catch((e: unknown) => e);
    expect(viaSdk).toBeInstanceOf(Error);
    expect((viaSdk as { code?: number }).code).toBe(400);
    expect(String(viaSdk)).toContain(
      'VALIDATION_ERROR: Request body failed validation (params.arguments.__proto__: the key \\"__proto__\\" is not allowed)',
    );
    const nestedViaSdk = await call(full, "preq_complete_task", nested(key)).catch((e: unknown) => e);
    expect((nestedViaSdk as { code?: number }).code).toBe(400);
    expect(String(nestedViaSdk)).toContain("params.arguments.artifacts.0.constructor");

    // The same fields to the API: the same refusal, the same path (less the JSON-RPC envelope).
    const { taskId: _id, ...fields } = withProto(key);
    const viaApi = await api.call("PATCH", `/api/tasks/${key}`, {
      raw: JSON.stringify(fields),
      headers: { "Content-Type": "application/json" },
    });
    expect(viaApi.status).toBe(400);
    expect(viaApi.json.error.code).toBe("VALIDATION_ERROR");
    expect(viaApi.json.error.details).toEqual([{ path: "__proto__", message: 'The key "__proto__" is not allowed' }]);

    const task = (await api.call("GET", `/api/tasks/${key}`)).json.task;
    expect(task).toMatchObject({ title: "Untouchable", engine: null, run_state: null, version: 1, result: null });
    expect(auditRows()).toHaveLength(before);
  });

  it("answers a raw POST with __proto__ inside the tool arguments with a JSON-RPC invalid-params 400 carrying the API's details", async () => {
    const created = ok(await call(full, "preq_create_task", { title: "Raw target", repo: REPO_URL })) as {
      task: { task_key: string };
    };
    const key = created.task.task_key;
    const before = auditRows().length;
    const raw = `{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "preq_update_task_status", "arguments": {"taskId": "${key}", "status": "todo", "__proto__": {"status": "done"}}}}`;
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

    expect((await api.call("GET", `/api/tasks/${key}`)).json.task).toMatchObject({ status: "inbox", version: 1 });
    expect(auditRows()).toHaveLength(before);
  });
});

/** POST /mcp over a plain socket, every header as given (fetch cannot forge Host): a DNS-rebound browser's request. */
function rawPost(
  server: TestServer,
  token: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: { error?: { code: string | number; message: string }; result?: unknown } }> {
  const data = JSON.stringify(toolsCall("preq_list_projects", {}));
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
    const created = ok(await call(full, "preq_create_task", { title: "Audited", repo: REPO_URL })) as {
      task: { task_key: string };
    };
    const key = created.task.task_key;
    ok(await call(full, "preq_plan_task", { projectKey: "AT", taskId: key, planMarkdown: "plan" }));
    ok(await call(full, "preq_start_task", { taskId: key }));
    ok(await call(read, "preq_get_task", { taskId: key })); // reads leave nothing
    await call(full, "preq_review_task", { taskId: key }); // a CONFLICT leaves nothing
    ok(await call(full, "preq_complete_task", { taskId: key, summary: "done" }));
    ok(await call(full, "preq_delete_task", { taskId: key }));
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

  it("replays preq_create_task for the same idempotencyKey and arguments, and refuses the key with other arguments", async () => {
    const before = auditRows().length;
    const args = { title: "Exactly once", repo: REPO_URL, labels: ["retry"], idempotencyKey: "run-42:create" };
    const first = await call(full, "preq_create_task", args);
    const firstContent = ok(first) as { task: { task_key: string } };
    expect(first._meta?.["preqstation/idempotent_replayed"]).toBeUndefined();
    // Same arguments, another order: a retry.
    const again = await call(full, "preq_create_task", {
      idempotencyKey: "run-42:create",
      labels: ["retry"],
      repo: REPO_URL,
      title: "Exactly once",
    });
    expect(ok(again)).toEqual(firstContent);
    expect(again._meta?.["preqstation/idempotent_replayed"]).toBe(true);
    expect(auditRows()).toHaveLength(before + 1);

    const other = await call(full, "preq_create_task", { ...args, title: "Something else" });
    expect(other.isError).toBe(true);
    expect(text(other)).toMatch(/^CONFLICT: /);
    expect(auditRows()).toHaveLength(before + 1);
    const listed = (await api.call("GET", "/api/tasks?label=retry")).json.tasks as unknown[];
    expect(listed).toHaveLength(1);
  });
});

describe("MCP: fuzzed arguments", () => {
  it("never answer with a 5xx or a protocol error other than invalid-params", async () => {
    const task = ok(await call(full, "preq_create_task", { title: "Fuzz target", repo: REPO_URL })) as {
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
    // Every argument name of the skill's tools, and the API's own names and a few hostile ones besides.
    const names = new Set([
      ...Object.values(SKILL_TOOLS).flatMap((t) => t.args),
      "task_id",
      "project_key",
      "acceptance_criteria",
      "result",
      "plan_markdown",
      "lifecycle_action",
      "lease_seconds",
      "q",
      "run_state",
      "updated_since",
      "idempotency_key",
      "id",
      "__proto__",
      "constructor",
    ]);
    const keys = fc.constantFrom(...names);
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
          body: JSON.stringify(toolsCall("preq_list_projects", {})),
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
