/**
 * The agent's whole journey through the JSON API on the production server with
 * real tokens: projects, tasks by repo URL, the lifecycle, idempotent retries,
 * optimistic concurrency, read-only tokens, and the audit trail it leaves.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  OkResponseSchema,
  ProjectListResponseSchema,
  ProjectResponseSchema,
  SettingsResponseSchema,
  TaskListResponseSchema,
  TaskResponseSchema,
  TaskSchema,
} from "../../app/lib/api/schemas";
import { startApiServer, type ApiServer } from "./api-client";

let api: ApiServer;
beforeAll(async () => {
  api = await startApiServer();
});
afterAll(async () => {
  await api?.stop();
});

interface AuditRow {
  seq: number;
  action: string;
  actor_type: string;
  actor_id: string;
  actor_label: string;
  resource_type: string;
  resource_id: string;
  changes: string;
  request_id: string;
  ip: string;
  user_agent: string;
}
const auditRows = () => api.rows<AuditRow>("select * from audit_log where resource_type in ('task', 'project') order by seq");

describe("the agent flow", () => {
  it("creates a project, a task by repo URL, and drives it plan → start → complete → review → done", async () => {
    const project = await api.call("POST", "/api/projects", {
      body: { name: "Widget Factory", repo_url: "https://github.com/acme/widgets.git" },
    });
    expect(project.status).toBe(201);
    expect(ProjectResponseSchema.strict().parse(project.json).project).toMatchObject({
      project_key: "WF",
      repo_url: "acme/widgets",
      description: "",
    });
    expect(project.headers.get("location")).toBe("/api/projects/WF");

    const created = await api.call("POST", "/api/tasks", {
      body: {
        title: "Add login",
        repo: "git@github.com:acme/widgets.git",
        labels: ["backend", "Auth"],
        acceptance_criteria: ["Users can log in"],
        priority: "high",
      },
    });
    expect(created.status).toBe(201);
    const task = TaskResponseSchema.parse(created.json).task;
    expect(TaskSchema.strict().safeParse(task).success).toBe(true);
    expect(task).toMatchObject({
      id: "WF-1",
      task_key: "WF-1",
      project_key: "WF",
      status: "inbox",
      priority: "high",
      labels: ["backend", "Auth"],
      acceptance_criteria: ["Users can log in"],
      plan_markdown: null,
      run_state: null,
      repo: "acme/widgets",
      version: 1,
      archived_at: null,
    });
    expect(created.headers.get("location")).toBe("/api/tasks/WF-1");
    expect(created.headers.get("etag")).toBe('"1"');
    expect(created.headers.get("x-ratelimit-limit")).toBe("1000000");

    const got = await api.call("GET", "/api/tasks/wf-1");
    expect(got.status).toBe(200);
    expect(got.json).toEqual({ task });
    expect(got.headers.get("etag")).toBe('"1"');
    expect((await api.call("GET", `/api/tasks/${task.uuid}`)).json).toEqual({ task });

    const planned = await api.call("PATCH", "/api/tasks/WF-1", {
      body: { lifecycle_action: "plan", planMarkdown: "1. Do it" },
      headers: { "If-Match": '"1"' },
    });
    expect(planned.status).toBe(200);
    expect(planned.json.task).toMatchObject({ status: "todo", plan_markdown: "1. Do it", version: 2 });
    expect(planned.headers.get("etag")).toBe('"2"');

    const started = await api.call("PATCH", "/api/tasks/WF-1", {
      body: { lifecycle_action: "start", engine: "claude-code", branch: "feat/login" },
    });
    expect(started.json.task).toMatchObject({
      status: "todo",
      run_state: "working",
      engine: "claude-code",
      branch: "feat/login",
      version: 3,
    });
    expect(started.json.task.run_state_updated_at).toMatch(/Z$/);

    const result = { summary: "Login added", tests: { passed: 12, failed: 0 }, pr_url: "https://github.com/acme/widgets/pull/7" };
    const completed = await api.call("PATCH", "/api/tasks/WF-1", { body: { lifecycle_action: "complete", result } });
    expect(completed.json.task).toMatchObject({ status: "ready", run_state: null, result, version: 4 });

    const reviewed = await api.call("PATCH", "/api/tasks/WF-1", { body: { lifecycle_action: "review" } });
    expect(reviewed.status).toBe(200);
    expect(reviewed.json.task).toMatchObject({ status: "done", run_state: null, version: 5 });

    const list = await api.call("GET", "/api/tasks?status=done&project_key=WF");
    expect(TaskListResponseSchema.parse(list.json)).toEqual({
      tasks: [reviewed.json.task],
      next_cursor: null,
      available_labels: [
        { name: "Auth", color: expect.any(String) },
        { name: "backend", color: expect.any(String) },
      ],
    });
  });

  it("blocks a task back to hold from ready", async () => {
    const created = await api.call("POST", "/api/tasks", { body: { title: "Flaky test", project_key: "wf" } });
    const key = created.json.task.task_key;
    await api.call("PATCH", `/api/tasks/${key}`, { body: { lifecycle_action: "plan", plan_markdown: "fix" } });
    await api.call("PATCH", `/api/tasks/${key}`, { body: { lifecycle_action: "complete" } });
    const blocked = await api.call("PATCH", `/api/tasks/${key}`, { body: { lifecycle_action: "block" } });
    expect(blocked.json.task).toMatchObject({ status: "hold", run_state: null });
    const status = await api.call("PATCH", `/api/tasks/${key}/status`, { body: { status: "archived", engine: "codex" } });
    expect(status.json.task).toMatchObject({ status: "archived", engine: "codex" });
    expect(status.json.task.archived_at).toMatch(/Z$/);
  });

  it("reads projects and their settings, and updates settings as strings", async () => {
    const projects = await api.call("GET", "/api/projects");
    expect(ProjectListResponseSchema.parse(projects.json).projects.map((p) => p.project_key)).toEqual(["WF"]);
    const settings = await api.call("GET", "/api/projects/WF/settings");
    expect(SettingsResponseSchema.strict().parse(settings.json)).toEqual({
      settings: {
        deploy_strategy: "direct_commit",
        deploy_default_branch: "main",
        deploy_auto_pr: "false",
        deploy_commit_on_review: "true",
        deploy_squash_merge: "true",
      },
    });
    const patched = await api.call("PATCH", "/api/projects/WF", {
      body: { description: "Widgets", settings: { deploy_auto_pr: true, deploy_strategy: "pull_request" } },
    });
    expect(patched.status).toBe(200);
    expect(patched.json.project).toMatchObject({ project_key: "WF", description: "Widgets" });
    expect((await api.call("GET", "/api/projects/WF/settings")).json.settings).toMatchObject({
      deploy_auto_pr: "true",
      deploy_strategy: "pull_request",
    });
  });

  it("writes exactly one audit entry per mutation, naming the token, with the response's request id", async () => {
    const before = auditRows().length;
    const res = await api.call("PATCH", "/api/tasks/WF-1", {
      body: { title: "Add login (v2)" },
      headers: { "User-Agent": "agent-test/1" },
    });
    await api.call("GET", "/api/tasks/WF-1");
    await api.call("GET", "/api/tasks");
    const rows = auditRows();
    expect(rows).toHaveLength(before + 1);
    const entry = rows.at(-1)!;
    const tokenId = api.rows<{ id: number }>("select id from api_tokens where name = 'agent-full'")[0]!.id;
    expect(entry).toMatchObject({
      action: "task.update",
      actor_type: "token",
      actor_id: String(tokenId),
      actor_label: "agent-full",
      resource_type: "task",
      resource_id: "WF-1",
      request_id: res.headers.get("x-request-id"),
      ip: "127.0.0.1",
      user_agent: "agent-test/1",
    });
    expect(JSON.parse(entry.changes)).toEqual({ title: { before: "Add login", after: "Add login (v2)" } });
    const actions = new Set(rows.map((r) => r.action));
    for (const a of ["project.create", "project.update", "task.create", "task.update", "task.status"])
      expect(actions).toContain(a);
  });
});

describe("keys, retries and concurrency", () => {
  it("never hands out a deleted task's key again", async () => {
    const a = await api.call("POST", "/api/tasks", { body: { title: "to delete", project_key: "WF" } });
    const key = a.json.task.task_key as string;
    const deleted = await api.call("DELETE", `/api/tasks/${key}`);
    expect(deleted.status).toBe(200);
    expect(OkResponseSchema.strict().parse(deleted.json)).toEqual({ ok: true });
    expect((await api.call("GET", `/api/tasks/${key}`)).status).toBe(404);
    const b = await api.call("POST", "/api/tasks", { body: { title: "after delete", project_key: "WF" } });
    expect(Number(b.json.task.task_key.split("-")[1])).toBe(Number(key.split("-")[1]) + 1);
    expect(
      auditRows()
        .filter((r) => r.action === "task.delete")
        .map((r) => r.resource_id),
    ).toEqual([key]);
  });

  it("gives 30 concurrent creates 30 distinct, consecutive keys", async () => {
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        api.call("POST", "/api/tasks", { body: { title: `parallel ${i}`, project_key: "WF" } }),
      ),
    );
    expect(results.every((r) => r.status === 201)).toBe(true);
    const numbers = results.map((r) => Number(r.json.task.task_key.split("-")[1])).sort((x, y) => x - y);
    expect(new Set(numbers).size).toBe(30);
    expect(numbers.at(-1)! - numbers[0]!).toBe(29);
  });

  it("replays a retried POST with the same Idempotency-Key and body, creating nothing twice", async () => {
    const count = () => api.rows<{ n: number }>("select count(*) as n from tasks")[0]!.n;
    const before = count();
    const send = (title: string) =>
      api.call("POST", "/api/tasks", { body: { title, project_key: "WF" }, headers: { "Idempotency-Key": "retry-1" } });
    const first = await send("once");
    const again = await send("once");
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.text).toBe(first.text);
    expect(again.headers.get("location")).toBe(first.headers.get("location"));
    expect(again.headers.get("etag")).toBe(first.headers.get("etag"));
    expect(count()).toBe(before + 1);
    const other = await send("another body");
    expect(other.status).toBe(409);
    expect(other.json).toEqual({
      error: { code: "CONFLICT", message: "Idempotency-Key was already used with a different request body" },
    });
    expect(count()).toBe(before + 1);
  });

  it("lets only one of 12 concurrent duplicates with one Idempotency-Key create", async () => {
    const count = () => api.rows<{ n: number }>("select count(*) as n from tasks")[0]!.n;
    const before = count();
    const results = await Promise.all(
      Array.from({ length: 12 }, () =>
        api.call("POST", "/api/tasks", { body: { title: "dup", project_key: "WF" }, headers: { "Idempotency-Key": "burst-7" } }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(12).fill(201));
    expect(new Set(results.map((r) => r.text)).size).toBe(1);
    expect(count()).toBe(before + 1);
  });

  it("refuses a stale If-Match with 412 and leaves the task as the other writer left it", async () => {
    const created = await api.call("POST", "/api/tasks", { body: { title: "contended", project_key: "WF" } });
    const key = created.json.task.task_key;
    const etag = created.headers.get("etag")!;
    const first = await api.call("PATCH", `/api/tasks/${key}`, { body: { title: "writer one" }, headers: { "If-Match": etag } });
    expect(first.status).toBe(200);
    const second = await api.call("PATCH", `/api/tasks/${key}`, { body: { title: "writer two" }, headers: { "If-Match": etag } });
    expect(second.status).toBe(412);
    expect(second.json).toEqual({
      error: { code: "PRECONDITION_FAILED", message: `If-Match does not match the task's current ETag "2"` },
    });
    expect((await api.call("GET", `/api/tasks/${key}`)).json.task.title).toBe("writer one");
    expect((await api.call("DELETE", `/api/tasks/${key}`, { headers: { "If-Match": '"1"' } })).status).toBe(412);
  });
});

describe("a read-only token", () => {
  it("can read everything", async () => {
    const token = api.readToken;
    for (const path of ["/api/projects", "/api/projects/WF", "/api/projects/WF/settings", "/api/tasks", "/api/tasks/WF-1"]) {
      expect((await api.call("GET", path, { token })).status, path).toBe(200);
    }
  });

  it("gets 403 on each write and changes nothing", async () => {
    const token = api.readToken;
    const before = (await api.call("GET", "/api/tasks/WF-1")).json.task;
    const auditBefore = auditRows().length;
    const writes: [string, string, unknown][] = [
      ["POST", "/api/projects", { name: "Nope" }],
      ["PATCH", "/api/projects/WF", { name: "Nope" }],
      ["POST", "/api/tasks", { title: "Nope", project_key: "WF" }],
      ["PATCH", "/api/tasks/WF-1", { title: "Nope" }],
      ["PATCH", "/api/tasks/WF-1/status", { status: "todo" }],
      ["DELETE", "/api/tasks/WF-1", undefined],
    ];
    for (const [method, path, body] of writes) {
      const res = await api.call(method, path, { body, token });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.json).toEqual({ error: { code: "FORBIDDEN", message: "Insufficient permissions" } });
    }
    expect((await api.call("GET", "/api/tasks/WF-1")).json.task).toEqual(before);
    expect(auditRows()).toHaveLength(auditBefore);
    expect((await api.call("GET", "/api/projects")).json.projects).toHaveLength(1);
  });
});

describe("the OpenAPI document", () => {
  it("is served without a token and lists every route the agent just used", async () => {
    const res = await api.call("GET", "/api/openapi.json", { token: null });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(res.json.openapi).toBe("3.1.0");
    expect(Object.keys(res.json.paths).sort()).toEqual([
      "/api/activity",
      "/api/health",
      "/api/me",
      "/api/openapi.json",
      "/api/projects",
      "/api/projects/{key}",
      "/api/projects/{key}/settings",
      "/api/task-comments/{id}",
      "/api/task-comments/{id}/reply",
      "/api/tasks",
      "/api/tasks/next",
      "/api/tasks/{id}",
      "/api/tasks/{id}/claim",
      "/api/tasks/{id}/comments",
      "/api/tasks/{id}/heartbeat",
      "/api/tasks/{id}/release",
      "/api/tasks/{id}/status",
    ]);
    expect((await api.call("HEAD", "/api/openapi.json", { token: null })).status).toBe(200);
  });
});
