/**
 * Blocking a task (issue 22, item 10) against the production server: the owner's page
 * and an agent racing on the same task, and the API's `block_reason`. The page's Block
 * is one versioned command: an agent's write landing between the page's read and the
 * owner's post is never lost, and the reason lives in its own field, not in `result`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getPage, postForm, signIn } from "../support/http";
import { startApiServer, type ApiServer } from "./api-client";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

let api: ApiServer;
let cookie: string;

beforeAll(async () => {
  api = await startApiServer();
  const project = await api.call("POST", "/api/projects", { body: { name: "Blocks", project_key: "BL" } });
  expect(project.status).toBe(201);
  cookie = await signIn(api.server);
});
afterAll(async () => {
  await api?.stop();
});

async function newTask(title: string): Promise<string> {
  const created = await api.call("POST", "/api/tasks", { body: { title, project_key: "BL", status: "todo" } });
  expect(created.status).toBe(201);
  return created.json.task.task_key as string;
}

/** The task page's Block form, as the owner's browser received it: the version it carries. */
async function blockFormVersion(key: string): Promise<string> {
  const res = await getPage(api.server, `/tasks/${key}`, cookie);
  expect(res.status).toBe(200);
  const html = await res.text();
  const form = /<form[^>]*>(?:(?!<\/form>)[\s\S])*?name="intent" value="block"[\s\S]*?<\/form>/.exec(html)?.[0];
  expect(form, "the page has a Block form").toBeDefined();
  return /<input type="hidden" name="version" value="(\d+)"/.exec(form!)![1]!;
}

const auditActions = (key: string) =>
  api.rows<{ action: string; actor_type: string; changes: string }>(
    "select action, actor_type, changes from audit_log where resource_id = ? order by seq",
    key,
  );

describe("the task page's Block against an agent's concurrent write", () => {
  it("an agent's PATCH landing between the page's read and the owner's Block is kept: the stale Block is a conflict that changes nothing", async () => {
    const key = await newTask("Race me");
    const seen = await blockFormVersion(key);
    expect(seen).toBe("1");

    // The agent reports a result after the owner opened the page.
    const agent = await api.call("PATCH", `/api/tasks/${key}`, {
      body: { result: { summary: "agent's result", tests: "12 passed" } },
    });
    expect(agent.status).toBe(200);
    expect(agent.json.task.version).toBe(2);

    // The owner's Block, from the page as it was loaded.
    const stale = await postForm(
      api.server,
      `/tasks/${key}`,
      { intent: "block", version: seen, reason: "waiting on design" },
      { cookie },
    );
    expect(stale.status).toBe(409);
    const html = await stale.text();
    expect(html).toContain("This task changed since the page was loaded (version 1, now 2). It was not blocked.");
    expect(html).toContain("token “agent-full”");
    // The reason is kept, and the form now carries the version it reported.
    expect(html).toMatch(/<input id="block-reason" name="reason" type="text" maxLength="2000"[^>]*value="waiting on design"/);
    expect(await blockFormVersion(key)).toBe("2");

    const after = (await api.call("GET", `/api/tasks/${key}`)).json.task;
    expect(after).toMatchObject({
      status: "todo",
      version: 2,
      block_reason: null,
      result: { summary: "agent's result", tests: "12 passed" },
    });
    expect(auditActions(key).map((e) => e.action)).toEqual(["task.create", "task.update"]);

    // Blocking again from the current version works, and leaves the agent's result as it was.
    const again = await postForm(
      api.server,
      `/tasks/${key}`,
      { intent: "block", version: "2", reason: "waiting on design" },
      { cookie },
    );
    expect(again.status).toBe(303);
    const blocked = (await api.call("GET", `/api/tasks/${key}`)).json.task;
    expect(blocked).toMatchObject({
      status: "hold",
      version: 3,
      block_reason: "waiting on design",
      result: { summary: "agent's result", tests: "12 passed" },
    });
    const last = auditActions(key).at(-1)!;
    expect(last).toMatchObject({ action: "task.update", actor_type: "owner" });
    expect(JSON.parse(last.changes)).toEqual({
      status: { before: "todo", after: "hold" },
      block_reason: { before: null, after: "waiting on design" },
    });
    const page = await (await getPage(api.server, `/tasks/${key}`, cookie)).text();
    expect(page).toContain("<dt>Blocked because</dt>");
  });

  it("keeps the reason and answers inline for a bad reason or a bad version, changing nothing", async () => {
    const key = await newTask("Bad input");
    const long = await postForm(
      api.server,
      `/tasks/${key}`,
      { intent: "block", version: "1", reason: "x".repeat(2001) },
      { cookie },
    );
    expect(long.status).toBe(400);
    expect(await long.text()).toContain("Must be at most 2000 characters");
    const badVersion = await postForm(
      api.server,
      `/tasks/${key}`,
      { intent: "block", version: "one", reason: "why" },
      { cookie },
    );
    expect(badVersion.status).toBe(400);
    const html = await badVersion.text();
    expect(html).toContain("The form has no valid version; reload the page.");
    expect(html).toMatch(/name="reason"[^>]*value="why"/);
    expect((await api.call("GET", `/api/tasks/${key}`)).json.task).toMatchObject({ status: "todo", version: 1 });
  });
});

describe("block_reason in the API and MCP", () => {
  it("is set by lifecycle_action block with reason, sits after result in the task, and is cleared when the task leaves hold", async () => {
    const key = await newTask("API block");
    const blocked = await api.call("PATCH", `/api/tasks/${key}`, {
      body: { lifecycle_action: "block", reason: "  needs the schema first  ", result: { summary: "half" } },
    });
    expect(blocked.status).toBe(200);
    const task = blocked.json.task as Record<string, unknown>;
    expect(task).toMatchObject({ status: "hold", block_reason: "needs the schema first", result: { summary: "half" } });
    const keys = Object.keys(task);
    expect(keys.indexOf("block_reason")).toBe(keys.indexOf("result") + 1);
    expect((await api.call("GET", `/api/tasks/${key}`)).json.task.block_reason).toBe("needs the schema first");
    const listed = (await api.call("GET", "/api/tasks?status=hold")).json.tasks as { task_key: string; block_reason: string }[];
    expect(listed.find((t) => t.task_key === key)?.block_reason).toBe("needs the schema first");

    // A start keeps the task on hold with its reason; leaving hold clears it.
    expect((await api.call("PATCH", `/api/tasks/${key}`, { body: { lifecycle_action: "start" } })).json.task.block_reason).toBe(
      "needs the schema first",
    );
    const moved = await api.call("PATCH", `/api/tasks/${key}/status`, { body: { status: "todo" } });
    expect(moved.json.task).toMatchObject({ status: "todo", block_reason: null, result: { summary: "half" } });
    // A block without a reason has none.
    expect((await api.call("PATCH", `/api/tasks/${key}`, { body: { lifecycle_action: "block" } })).json.task).toMatchObject({
      status: "hold",
      block_reason: null,
    });
  });

  it("refuses a reason without a block, or longer than 2000 characters, with 400 VALIDATION_ERROR naming reason", async () => {
    const key = await newTask("Refusals");
    for (const body of [
      { reason: "no action" },
      { lifecycle_action: "start", reason: "wrong action" },
      { lifecycle_action: "block", reason: "x".repeat(2001) },
      { lifecycle_action: "block", reason: "bad\u0000reason" },
    ]) {
      const res = await api.call("PATCH", `/api/tasks/${key}`, { body });
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.json.error.code).toBe("VALIDATION_ERROR");
      expect(res.json.error.details.map((d: { path: string }) => d.path)).toContain("reason");
    }
    expect((await api.call("GET", `/api/tasks/${key}`)).json.task.version).toBe(1);
  });

  it("is what MCP's preq_block_task sets from its reason, through the same command; the other lifecycle tools do not take one", async () => {
    const key = await newTask("MCP block");
    const client = new Client({ name: "vitest-agent", version: "1.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL("/mcp", api.server.url), {
        requestInit: { headers: { Authorization: `Bearer ${api.fullToken}` } },
      }),
    );
    try {
      const { tools } = await client.listTools();
      const byName = new Map(tools.map((t) => [t.name, t]));
      expect(Object.keys(byName.get("preq_block_task")!.inputSchema.properties ?? {})).toContain("reason");
      expect(Object.keys(byName.get("preq_start_task")!.inputSchema.properties ?? {})).not.toContain("reason");

      const result = (await client.callTool({
        name: "preq_block_task",
        arguments: { taskId: key, reason: "blocked by MCP" },
      })) as unknown as {
        structuredContent: { task: Record<string, unknown> };
        isError?: boolean;
      };
      expect(result.isError ?? false).toBe(false);
      expect(result.structuredContent.task).toMatchObject({ status: "hold", block_reason: "blocked by MCP", result: null });
      expect(result.structuredContent).toEqual((await api.call("GET", `/api/tasks/${key}`)).json);

      const refused = (await client.callTool({ name: "preq_start_task", arguments: { taskId: key, reason: "x" } })) as {
        content: { text: string }[];
        isError?: boolean;
      };
      expect(refused.isError).toBe(true);
      expect(refused.content[0]!.text).toMatch(/^VALIDATION_ERROR: .*reason/);
    } finally {
      await client.close();
    }
  });
});
