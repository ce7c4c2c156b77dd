/**
 * Coordination between agents (contract §11) on the production server with real
 * tokens: claims with leases under concurrency, heartbeats, expiry, release,
 * dependencies with cycle detection, `?ready=true` and `next` under contention,
 * and every bad input a documented 4xx that changes nothing.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskResponseSchema, TaskSchema } from "../../app/lib/api/schemas";
import { getPage, postForm, signIn } from "../support/http";
import { createToken, startApiServer, type ApiServer } from "./api-client";

let api: ApiServer;
/** Agents: each its own full token. */
let agents: string[] = [];

beforeAll(async () => {
  api = await startApiServer();
  agents = [api.fullToken];
  for (let i = 1; i < 4; i += 1) agents.push(await createToken(api.server, `agent-${i}`));
  const project = await api.call("POST", "/api/projects", { body: { name: "Coordination", project_key: "CO" } });
  expect(project.status).toBe(201);
  const other = await api.call("POST", "/api/projects", { body: { name: "Queue", project_key: "QU" } });
  expect(other.status).toBe(201);
}, 180_000);
afterAll(async () => {
  await api?.stop();
});

async function newTask(body: Record<string, unknown> = {}, project = "CO"): Promise<string> {
  const res = await api.call("POST", "/api/tasks", { body: { title: "A task", project_key: project, status: "todo", ...body } });
  expect(res.status, res.text).toBe(201);
  return TaskResponseSchema.parse(res.json).task.task_key;
}

async function getTask(key: string) {
  const res = await api.call("GET", `/api/tasks/${key}`);
  expect(res.status).toBe(200);
  return TaskSchema.strict().parse(res.json.task);
}

const start = (key: string, token: string, extra: Record<string, unknown> = {}) =>
  api.call("PATCH", `/api/tasks/${key}`, { token, body: { lifecycle_action: "start", ...extra } });

const auditOf = (key: string) =>
  api.rows<{ action: string; actor_type: string; actor_label: string; changes: string }>(
    "select action, actor_type, actor_label, changes from audit_log where resource_type = 'task' and resource_id = ? order by seq",
    key,
  );

/** Everything the API shows of the task and every audit entry: what "nothing changed" compares. */
async function snapshot(key: string) {
  return { task: await getTask(key), audit: auditOf(key).length };
}

describe("claims with leases", () => {
  it("32 concurrent starts of one task by 4 agents: exactly one 200, the rest 409 naming the holder and expiry", async () => {
    const key = await newTask();
    const results = await Promise.all(Array.from({ length: 32 }, (_, i) => start(key, agents[i % agents.length]!)));
    const ok = results.filter((r) => r.status === 200);
    const holderIndex = results.findIndex((r) => r.status === 200);
    const holderToken = agents[holderIndex % agents.length]!;
    // The holder's own starts renew (200); every other agent's is a 409.
    const others = results.filter((_, i) => agents[i % agents.length] !== holderToken);
    expect(others).toHaveLength(24);
    for (const r of others) {
      expect(r.status).toBe(409);
      expect(r.json.error.code).toBe("CONFLICT");
      expect(r.json.error.message).toMatch(/claimed by token "agent-[\w-]+" until \d{4}-\d\d-\d\dT/);
    }
    expect(ok).toHaveLength(8);
    const task = await getTask(key);
    expect(task.claimed_by).toEqual({ type: "token", name: ok[0]!.json.task.claimed_by.name });
    expect(task.run_state).toBe("working");
    expect(Date.parse(task.lease_expires_at!)).toBeGreaterThan(Date.now() + 800_000);
    // One claim entry per successful start (the first takes, the holder's others renew); none for refusals.
    expect(auditOf(key).filter((e) => e.action === "task.claim")).toHaveLength(8);
  });

  it("32 concurrent starts by 32 distinct agents: exactly one 200", async () => {
    const more = await Promise.all(Array.from({ length: 32 - agents.length }, (_, i) => createToken(api.server, `swarm-${i}`)));
    const tokens = [...agents, ...more];
    const key = await newTask();
    const results = await Promise.all(tokens.map((t) => start(key, t)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(31);
    agents = tokens;
  }, 240_000);

  it("POST /claim and a heartbeat by the holder extend the lease; a heartbeat or release by another is 409, nothing changed", async () => {
    const key = await newTask();
    const claim = await api.call("POST", `/api/tasks/${key}/claim`, {
      token: agents[0],
      body: { lease_seconds: 60, engine: "codex" },
    });
    expect(claim.status, claim.text).toBe(200);
    expect(claim.json.task).toMatchObject({ run_state: "working", engine: "codex", claimed_by: { type: "token" } });
    const firstExpiry = Date.parse(claim.json.task.lease_expires_at);
    expect(firstExpiry).toBeGreaterThan(Date.now() + 50_000);
    expect(firstExpiry).toBeLessThanOrEqual(Date.now() + 60_000);

    const beat = await api.call("POST", `/api/tasks/${key}/heartbeat`, { token: agents[0], body: { lease_seconds: 3600 } });
    expect(beat.status, beat.text).toBe(200);
    expect(Date.parse(beat.json.task.lease_expires_at)).toBeGreaterThan(firstExpiry + 3_000_000);
    expect(beat.json.task.run_state_updated_at).toBe(claim.json.task.run_state_updated_at);
    expect(beat.json.task.version).toBe(claim.json.task.version + 1);

    const before = await snapshot(key);
    const otherBeat = await api.call("POST", `/api/tasks/${key}/heartbeat`, { token: agents[1], body: {} });
    expect(otherBeat.status).toBe(409);
    expect(otherBeat.json.error.message).toContain("claimed by token");
    const otherRelease = await api.call("POST", `/api/tasks/${key}/release`, { token: agents[1] });
    expect(otherRelease.status).toBe(409);
    expect(await snapshot(key)).toEqual(before);

    const release = await api.call("POST", `/api/tasks/${key}/release`, { token: agents[0] });
    expect(release.status, release.text).toBe(200);
    expect(release.json.task).toMatchObject({ claimed_by: null, lease_expires_at: null, run_state: null });
    const actions = auditOf(key).map((e) => e.action);
    expect(actions.slice(-3)).toEqual(["task.claim", "task.claim", "task.release"]);

    // Releasing (or heart-beating) a free task: 409, nothing changed.
    const free = await snapshot(key);
    expect((await api.call("POST", `/api/tasks/${key}/release`, { token: agents[0] })).status).toBe(409);
    expect((await api.call("POST", `/api/tasks/${key}/heartbeat`, { token: agents[0] })).status).toBe(409);
    expect(await snapshot(key)).toEqual(free);
  });

  it("complete, block, review, a status change and delete end the lease", async () => {
    const key = await newTask();
    expect((await start(key, agents[0]!)).status).toBe(200);
    const completed = await api.call("PATCH", `/api/tasks/${key}`, { token: agents[1], body: { lifecycle_action: "complete" } });
    expect(completed.status).toBe(200);
    expect(completed.json.task).toMatchObject({ status: "ready", claimed_by: null, lease_expires_at: null, run_state: null });
    // Now anyone may start it.
    expect((await start(key, agents[1]!)).status).toBe(200);
    const status = await api.call("PATCH", `/api/tasks/${key}/status`, { token: agents[1], body: { status: "todo" } });
    expect(status.json.task).toMatchObject({ claimed_by: null, lease_expires_at: null });
    expect((await start(key, agents[2]!)).status).toBe(200);
    const blocked = await api.call("PATCH", `/api/tasks/${key}`, { token: agents[0], body: { lifecycle_action: "block" } });
    expect(blocked.json.task).toMatchObject({ status: "hold", claimed_by: null });
    expect((await start(key, agents[0]!)).status).toBe(200);
    expect((await api.call("DELETE", `/api/tasks/${key}`)).status).toBe(200);
    expect((await api.call("GET", `/api/tasks/${key}`)).status).toBe(404);
  });

  it("a lease that runs out frees the task (task.lease_expired, actor system) and the next start gets a fresh lease and run", async () => {
    const key = await newTask();
    const first = await start(key, agents[0]!, { lease_seconds: 10 });
    expect(first.status).toBe(200);
    // Still held: another agent is refused.
    expect((await start(key, agents[1]!)).status).toBe(409);
    await new Promise((resolve) => setTimeout(resolve, 10_500));
    // Free now, whether the sweeper or this read saw it first.
    const free = await getTask(key);
    expect(free.claimed_by).toBeNull();
    expect(free.lease_expires_at).toBeNull();
    const second = await start(key, agents[1]!, { lease_seconds: 600 });
    expect(second.status, second.text).toBe(200);
    const task = second.json.task;
    expect(task.claimed_by.name).not.toBe(first.json.task.claimed_by.name);
    expect(Date.parse(task.run_state_updated_at)).toBeGreaterThan(Date.parse(first.json.task.run_state_updated_at) + 10_000);
    expect(Date.parse(task.lease_expires_at)).toBeGreaterThan(Date.now() + 500_000);
    const expired = auditOf(key).filter((e) => e.action === "task.lease_expired");
    expect(expired).toHaveLength(1);
    expect(expired[0]).toMatchObject({ actor_type: "system", actor_label: "system" });
    expect(JSON.parse(expired[0]!.changes)).toMatchObject({ run_state: { before: "working", after: null } });
    // The old holder's heartbeat is refused: its lease is gone.
    const late = await api.call("POST", `/api/tasks/${key}/heartbeat`, { token: agents[0] });
    expect(late.status).toBe(409);
  }, 30_000);

  it("the sweeper frees an expired lease nobody touches", async () => {
    const key = await newTask();
    expect((await start(key, agents[0]!, { lease_seconds: 10 })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    const rows = api.rows<{ claimed_by_id: string | null; run_state: string | null }>(
      "select claimed_by_id, run_state from tasks where task_key = ?",
      key,
    );
    expect(rows[0]).toEqual({ claimed_by_id: null, run_state: null });
    expect(auditOf(key).map((e) => e.action)).toContain("task.lease_expired");
  }, 30_000);

  it("bad input is a documented 4xx and changes nothing", async () => {
    const key = await newTask();
    const before = await snapshot(key);
    for (const lease of [9, 86_401, 1.5, "60"]) {
      const r = await start(key, agents[0]!, { lease_seconds: lease });
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe("VALIDATION_ERROR");
      const c = await api.call("POST", `/api/tasks/${key}/claim`, { body: { lease_seconds: lease } });
      expect(c.status).toBe(400);
    }
    const stray = await api.call("PATCH", `/api/tasks/${key}`, { body: { lease_seconds: 60 } });
    expect(stray.status).toBe(400);
    const unknownField = await api.call("POST", `/api/tasks/${key}/claim`, { body: { holder: "me" } });
    expect(unknownField.status).toBe(400);
    expect((await api.call("POST", `/api/tasks/CO-99999/claim`)).status).toBe(404);
    const readOnly = await api.call("POST", `/api/tasks/${key}/claim`, { token: api.readToken });
    expect(readOnly.status).toBe(403);
    expect(await snapshot(key)).toEqual(before);
  });
});

describe("dependencies", () => {
  it("blocked_by on create and PATCH, blocking computed, start refused while a blocker is open, ready once it is done", async () => {
    const a = await newTask({ title: "Schema" });
    const b = await newTask({ title: "API", blocked_by: [a.toLowerCase()] });
    expect((await getTask(b)).blocked_by).toEqual([a]);
    expect((await getTask(a)).blocking).toEqual([b]);

    const refused = await start(b, agents[0]!);
    expect(refused.status).toBe(409);
    expect(refused.json.error.message).toContain(`blocked by open task ${a} (todo)`);
    const readyKeys = async () =>
      ((await api.call("GET", "/api/tasks?ready=true&project_key=CO&limit=200")).json.tasks as { task_key: string }[]).map(
        (t) => t.task_key,
      );
    expect(await readyKeys()).toContain(a);
    expect(await readyKeys()).not.toContain(b);

    // Completing the blocker (ready), then reviewing it (done): the dependant becomes ready.
    expect((await start(a, agents[0]!)).status).toBe(200);
    expect(await readyKeys()).not.toContain(a);
    expect((await api.call("PATCH", `/api/tasks/${a}`, { body: { lifecycle_action: "complete" } })).status).toBe(200);
    expect(await readyKeys()).not.toContain(b);
    expect((await api.call("PATCH", `/api/tasks/${a}`, { body: { lifecycle_action: "review" } })).json.task.status).toBe("done");
    expect(await readyKeys()).toContain(b);
    expect((await start(b, agents[1]!)).status).toBe(200);

    // PATCH replaces the set; the change alone is a task.dependencies entry.
    const c = await newTask({ title: "Docs" });
    const patched = await api.call("PATCH", `/api/tasks/${c}`, { body: { blocked_by: [a, b] } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.json.task.blocked_by).toEqual([a, b]);
    expect(auditOf(c).at(-1)).toMatchObject({ action: "task.dependencies" });
    expect(JSON.parse(auditOf(c).at(-1)!.changes)).toEqual({ blocked_by: { before: [], after: [a, b] } });
    const cleared = await api.call("PATCH", `/api/tasks/${c}`, { body: { blocked_by: [] } });
    expect(cleared.json.task.blocked_by).toEqual([]);
    expect((await getTask(a)).blocking).toEqual([b]);
  });

  it("a cycle of three is refused with a 409 naming it, nothing changed", async () => {
    const x = await newTask({ title: "X" });
    const y = await newTask({ title: "Y", blocked_by: [x] });
    const z = await newTask({ title: "Z", blocked_by: [y] });
    const before = [await snapshot(x), await snapshot(y), await snapshot(z)];
    const cycle = await api.call("PATCH", `/api/tasks/${x}`, { body: { blocked_by: [z] } });
    expect(cycle.status).toBe(409);
    expect(cycle.json.error.code).toBe("CONFLICT");
    expect(cycle.json.error.message).toContain(`${x} → ${z} → ${y} → ${x}`);
    expect([await snapshot(x), await snapshot(y), await snapshot(z)]).toEqual(before);
  });

  it("itself, unknown keys and 51 keys are a 400, nothing changed", async () => {
    const key = await newTask();
    const before = await snapshot(key);
    const self = await api.call("PATCH", `/api/tasks/${key}`, { body: { blocked_by: [key] } });
    expect(self.status).toBe(400);
    expect(self.json.error.details).toEqual([{ path: "blocked_by.0", message: "A task cannot be blocked by itself" }]);
    const unknown = await api.call("PATCH", `/api/tasks/${key}`, { body: { blocked_by: ["CO-99998", "ZZ-1"] } });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.message).toContain("CO-99998, ZZ-1");
    const many = Array.from({ length: 51 }, (_, i) => `CO-${i + 1}`);
    const tooMany = await api.call("PATCH", `/api/tasks/${key}`, { body: { blocked_by: many } });
    expect(tooMany.status).toBe(400);
    expect(tooMany.json.error.details[0].path).toBe("blocked_by");
    const malformed = await api.call("PATCH", `/api/tasks/${key}`, { body: { blocked_by: ["not a key"] } });
    expect(malformed.status).toBe(400);
    const createUnknown = await api.call("POST", "/api/tasks", {
      body: { title: "t", project_key: "CO", blocked_by: ["CO-99997"] },
    });
    expect(createUnknown.status).toBe(400);
    expect(await snapshot(key)).toEqual(before);
  });
});

describe("next", () => {
  it("16 callers × next over 10 ready tasks: 10 distinct tasks, then 204s", async () => {
    const keys: string[] = [];
    for (let i = 0; i < 10; i += 1) keys.push(await newTask({ title: `Queue ${i}` }, "QU"));
    // Not ready: claimed, blocked, or not todo.
    const held = await newTask({ title: "held" }, "QU");
    expect((await start(held, agents[0]!)).status).toBe(200);
    await newTask({ title: "blocked", blocked_by: [keys[0]] }, "QU");
    await newTask({ title: "inbox", status: "inbox" }, "QU");

    const calls = Array.from({ length: 16 }, (_, i) => agents[i]!).flatMap((token) =>
      [0, 1].map(() => api.call("POST", "/api/tasks/next", { token, body: { project_key: "QU", lease_seconds: 300 } })),
    );
    const results = await Promise.all(calls);
    const claimed = results.filter((r) => r.status === 200).map((r) => r.json.task.task_key as string);
    expect(claimed.sort()).toEqual([...keys].sort());
    expect(new Set(claimed).size).toBe(10);
    for (const r of results.filter((r) => r.status !== 200)) {
      expect(r.status).toBe(204);
      expect(r.text).toBe("");
    }
    expect((await api.call("POST", "/api/tasks/next", { body: { project_key: "QU" } })).status).toBe(204);
  }, 60_000);

  it("takes the most urgent first (highest → none, then oldest) and honours label and engine", async () => {
    await api.call("POST", "/api/projects", { body: { name: "Order", project_key: "OR" } });
    const low = await newTask({ title: "low", priority: "low" }, "OR");
    const none = await newTask({ title: "none" }, "OR");
    const high1 = await newTask({ title: "high 1", priority: "high" }, "OR");
    const high2 = await newTask({ title: "high 2", priority: "high" }, "OR");
    const labelled = await newTask({ title: "labelled", priority: "lowest", labels: ["docs"] }, "OR");
    const forCodex = await newTask({ title: "codex", priority: "highest", engine: "codex" }, "OR");
    const next = async (body: Record<string, unknown> = {}) => {
      const r = await api.call("POST", "/api/tasks/next", { body: { project_key: "OR", ...body } });
      return r.status === 204 ? null : (r.json.task.task_key as string);
    };
    expect(await next({ label: "DOCS" })).toBe(labelled);
    expect(await next({ engine: "claude-code" })).toBe(high1);
    const codex = await api.call("POST", "/api/tasks/next", { body: { project_key: "OR", engine: "codex" } });
    expect(codex.json.task).toMatchObject({ task_key: forCodex, engine: "codex" });
    expect(await next()).toBe(high2);
    expect(await next()).toBe(low);
    expect(await next()).toBe(none);
    expect(await next()).toBeNull();
    const bad = await api.call("POST", "/api/tasks/next", { body: { lease_seconds: 5 } });
    expect(bad.status).toBe(400);
    const unknown = await api.call("POST", "/api/tasks/next", { body: { project: "OR" } });
    expect(unknown.status).toBe(400);
  });
});

describe("MCP coordination tools", () => {
  async function connect(token: string): Promise<Client> {
    const client = new Client({ name: "vitest-agent", version: "1.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL("/mcp", api.server.url), {
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
      }),
    );
    return client;
  }
  const call = async (client: Client, name: string, args: Record<string, unknown>) =>
    (await client.callTool({ name, arguments: args })) as CallToolResult;
  const body = (result: CallToolResult) => {
    expect(result.isError ?? false, JSON.stringify(result.content)).toBe(false);
    return result.structuredContent as { task: Record<string, unknown> | null };
  };
  const errorText = (result: CallToolResult) => {
    expect(result.isError).toBe(true);
    return (result.content[0] as { text: string }).text;
  };

  it("preq_claim_next_task, preq_start_task with leaseSeconds, preq_heartbeat_task and preq_release_task", async () => {
    await api.call("POST", "/api/projects", { body: { name: "Mcp", project_key: "MC" } });
    const one = await connect(agents[0]!);
    const two = await connect(agents[1]!);
    try {
      const key = await newTask({ title: "via MCP", priority: "high" }, "MC");
      const claimed = body(await call(one, "preq_claim_next_task", { projectKey: "MC", leaseSeconds: 120 }));
      expect(claimed.task).toMatchObject({ task_key: key, run_state: "working", claimed_by: { type: "token" } });
      expect(body(await call(two, "preq_claim_next_task", { projectKey: "MC" })).task).toBeNull();
      expect(errorText(await call(two, "preq_start_task", { taskId: key, leaseSeconds: 60 }))).toMatch(
        /^CONFLICT: .*claimed by token/,
      );
      expect(errorText(await call(two, "preq_heartbeat_task", { taskId: key }))).toMatch(/^CONFLICT: /);
      const renewed = body(await call(one, "preq_heartbeat_task", { taskId: key, leaseSeconds: 3600 }));
      expect(Date.parse(renewed.task!.lease_expires_at as string)).toBeGreaterThan(Date.now() + 3_000_000);
      expect(errorText(await call(one, "preq_heartbeat_task", { taskId: key, lease_seconds: 60 }))).toMatch(
        /^VALIDATION_ERROR: /,
      );
      expect(errorText(await call(one, "preq_heartbeat_task", { taskId: key, leaseSeconds: 5 }))).toMatch(/^VALIDATION_ERROR: /);
      const released = body(await call(one, "preq_release_task", { taskId: key }));
      expect(released.task).toMatchObject({ claimed_by: null, run_state: null });
      const started = body(await call(two, "preq_start_task", { taskId: key, leaseSeconds: 60 }));
      expect(started.task).toMatchObject({ claimed_by: { type: "token" }, run_state: "working" });
      const channels = api.rows<{ action: string; channel: string }>(
        "select action, channel from audit_log where resource_id = ? order by seq",
        key,
      );
      expect(channels.slice(-4)).toEqual([
        { action: "task.claim", channel: "mcp" },
        { action: "task.claim", channel: "mcp" },
        { action: "task.release", channel: "mcp" },
        { action: "task.claim", channel: "mcp" },
      ]);
    } finally {
      await one.close();
      await two.close();
    }
  });
});

describe("the owner's pages", () => {
  it("show the lock badge with the holder, the blockers with their status, and free a stuck claim with a plain form", async () => {
    await api.call("POST", "/api/projects", { body: { name: "Pages", project_key: "PG" } });
    const blocker = await newTask({ title: "Blocker task" }, "PG");
    const key = await newTask({ title: "Claimed task", blocked_by: [] }, "PG");
    const waiting = await newTask({ title: "Waiting task", blocked_by: [key, blocker] }, "PG");
    expect((await start(key, agents[2]!)).status).toBe(200);
    const holder = (await getTask(key)).claimed_by!.name;
    const cookie = await signIn(api.server);
    // The page as HTML, without React's text-node separators.
    const html = async (path: string) => (await (await getPage(api.server, path, cookie)).text()).replaceAll("<!-- -->", "");

    const board = await html("/tasks?project=PG");
    expect(board).toMatch(new RegExp(`class="badge claimed" title="Claimed by token ${holder}"`));
    expect(board.match(/class="badge claimed"/g)).toHaveLength(1);

    const waitingPage = await html(`/tasks/${waiting}`);
    expect(waitingPage).toContain("Blocked by");
    expect(waitingPage).toMatch(
      new RegExp(`href="/tasks/${key}">${key}</a> Claimed task <span class="badge status-todo">todo</span>`),
    );
    expect(waitingPage).toMatch(new RegExp(`href="/tasks/${blocker}">${blocker}</a> Blocker task`));
    const page = await html(`/tasks/${key}`);
    expect(page).toContain(`href="/tasks/${waiting}">${waiting}</a> Waiting task`);
    expect(page).toContain('name="intent" value="release"');

    const freed = await postForm(api.server, `/tasks/${key}`, { intent: "release" }, { cookie });
    expect(freed.status).toBe(303);
    expect(freed.headers.get("location")).toBe(`/tasks/${key}`);
    expect(await getTask(key)).toMatchObject({ claimed_by: null, lease_expires_at: null, run_state: null });
    const entry = api
      .rows<{ action: string; actor_type: string; channel: string; changes: string }>(
        "select action, actor_type, channel, changes from audit_log where resource_id = ? order by seq desc limit 1",
        key,
      )
      .at(0)!;
    expect(entry).toMatchObject({ action: "task.release", actor_type: "owner", channel: "web" });
    expect(JSON.parse(entry.changes).claimed_by).toEqual({ before: { type: "token", name: holder }, after: null });

    // Nothing left to free: an inline 409, nothing changed.
    const before = await snapshot(key);
    const again = await postForm(api.server, `/tasks/${key}`, { intent: "release" }, { cookie });
    expect(again.status).toBe(409);
    expect(await again.text()).toContain("it is not claimed");
    expect(await snapshot(key)).toEqual(before);
    // The board has no badge any more.
    const after = await html("/tasks?project=PG");
    expect(after).not.toContain('class="badge claimed"');
  });
});
