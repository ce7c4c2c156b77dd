import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ApiError } from "../../app/lib/api/errors.server";
import { ifMatchSatisfied } from "../../app/lib/api/etag.server";
import { DomainError } from "../../app/lib/domain/errors";
import { CreateTaskBodySchema, ListTasksQuerySchema, PatchTaskBodySchema } from "../../app/lib/api/schemas";
import type { AuditContext } from "../../app/lib/audit/log.server";
import { verifyAuditChain } from "../../app/lib/audit/log.server";
import { migrate, openDatabase, type OpenedDatabase } from "~/lib/db.server";
import { createProject } from "../../app/lib/projects/projects.server";
import {
  createTask,
  deleteTask,
  escapeLike,
  getTaskView,
  listTasks,
  setTaskStatus,
  taskListQuery,
  TaskVersionMismatch,
  updateTask,
} from "../../app/lib/tasks/tasks.server";
import { testAuditSigner } from "../support/audit-key";
import { cmd } from "../support/kit";

const audit: AuditContext = {
  actor: { type: "token", id: "1", label: "t" },
  ip: "127.0.0.1",
  userAgent: "test",
  requestId: "r",
  signer: testAuditSigner,
};
let dir: string;
let opened: OpenedDatabase;
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "preq-tasks-"));
  opened = openDatabase(path.join(dir, "t.db"));
  await migrate(opened.db);
  await createProject(...cmd(opened.db, audit), { name: "Widgets", project_key: "WID", repo_url: "acme/widgets" });
});
afterEach(async () => {
  await opened.db.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
});

const body = (input: unknown) => CreateTaskBodySchema.parse(input);
const patch = (input: unknown) => PatchTaskBodySchema.parse(input);
const query = (input: Record<string, string> = {}) => ListTasksQuerySchema.parse(input);

/** The domain's failure: a DomainError, never the API layer's ApiError. */
async function errorOf(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DomainError);
  expect(error).not.toBeInstanceOf(ApiError);
  return error as DomainError;
}

describe("task keys", () => {
  it("are distinct and sequential under 60 concurrent creates on one file database", async () => {
    const created = await Promise.all(
      Array.from({ length: 60 }, (_, i) => createTask(...cmd(opened.db, audit), body({ title: `t${i}` }))),
    );
    const numbers = created.map((t) => Number(t.task_key.split("-")[1])).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(new Set(created.map((t) => t.uuid)).size).toBe(60);
    expect((await verifyAuditChain(opened.db, testAuditSigner)).ok).toBe(true);
  });

  it("are not reused after a delete", async () => {
    await createTask(...cmd(opened.db, audit), body({ title: "one" }));
    const two = await createTask(...cmd(opened.db, audit), body({ title: "two" }));
    await deleteTask(...cmd(opened.db, audit), { task: two.task_key });
    const three = await createTask(...cmd(opened.db, audit), body({ title: "three" }));
    expect(three.task_key).toBe("WID-3");
    expect((await errorOf(getTaskView(opened.db, "WID-2"))).code).toBe("NOT_FOUND");
  });

  it("are found case-insensitively and by uuid", async () => {
    const t = await createTask(...cmd(opened.db, audit), body({ title: "x" }));
    expect((await getTaskView(opened.db, "wid-1")).uuid).toBe(t.uuid);
    expect((await getTaskView(opened.db, t.uuid.toUpperCase())).task_key).toBe("WID-1");
    expect((await errorOf(getTaskView(opened.db, "WID-0"))).code).toBe("NOT_FOUND");
    expect((await errorOf(getTaskView(opened.db, "%"))).code).toBe("NOT_FOUND");
  });
});

describe("choosing the project of a new task", () => {
  it("uses the only project when none is named, and matches repo in any GitHub form", async () => {
    expect((await createTask(...cmd(opened.db, audit), body({ title: "a" }))).project_key).toBe("WID");
    await createProject(...cmd(opened.db, audit), {
      name: "Other",
      project_key: "OTH",
      repo_url: "https://gitlab.com/acme/other",
    });
    const byRepo = await createTask(...cmd(opened.db, audit), body({ title: "b", repo: "git@github.com:ACME/widgets.git" }));
    expect(byRepo.project_key).toBe("WID");
    expect(byRepo.repo).toBe("acme/widgets");
    expect(
      (await createTask(...cmd(opened.db, audit), body({ title: "c", repo: "https://gitlab.com/acme/other.git" }))).project_key,
    ).toBe("OTH");
    const missing = await errorOf(createTask(...cmd(opened.db, audit), body({ title: "d" })));
    expect(missing.code).toBe("VALIDATION_ERROR");
    expect(missing.details?.[0]?.path).toBe("project_key");
    expect((await errorOf(createTask(...cmd(opened.db, audit), body({ title: "e", repo: "acme/nothing" })))).code).toBe(
      "NOT_FOUND",
    );
    expect((await errorOf(createTask(...cmd(opened.db, audit), body({ title: "f", project_key: "NOPE" })))).code).toBe(
      "NOT_FOUND",
    );
  });
});

describe("changing a task", () => {
  it("bumps the version on each change, keeps it on a no-op, and writes one audit entry per call", async () => {
    const t = await createTask(...cmd(opened.db, audit), body({ title: "x" }));
    const count = async () => (await opened.db.selectFrom("audit_log").select("seq").execute()).length;
    const before = await count();
    const a = await updateTask(...cmd(opened.db, audit), { task: t.task_key, patch: patch({ title: "y" }) });
    expect(a.version).toBe(2);
    const b = await updateTask(...cmd(opened.db, audit), { task: t.task_key, patch: patch({ title: "y" }) });
    expect(b.version).toBe(2);
    expect(await count()).toBe(before + 2);
  });

  it("refuses a write whose expected version is stale with PRECONDITION_FAILED, and accepts the current one", async () => {
    const t = await createTask(...cmd(opened.db, audit), body({ title: "x" }));
    await updateTask(...cmd(opened.db, audit), { task: t.task_key, patch: patch({ title: "y" }), expectedVersion: 1 });
    const stale = await errorOf(
      updateTask(...cmd(opened.db, audit), { task: t.task_key, patch: patch({ title: "z" }), expectedVersion: [1, 3] }),
    );
    expect(stale.code).toBe("PRECONDITION_FAILED");
    expect(stale).toBeInstanceOf(TaskVersionMismatch);
    expect((stale as TaskVersionMismatch).currentVersion).toBe(2);
    expect(
      (
        await errorOf(
          setTaskStatus(...cmd(opened.db, audit), { task: t.task_key, patch: { status: "todo" }, expectedVersion: [] }),
        )
      ).code,
    ).toBe("PRECONDITION_FAILED");
    expect((await errorOf(deleteTask(...cmd(opened.db, audit), { task: t.task_key, expectedVersion: 1 }))).code).toBe(
      "PRECONDITION_FAILED",
    );
    expect((await getTaskView(opened.db, t.task_key)).title).toBe("y");
    expect(
      (await updateTask(...cmd(opened.db, audit), { task: t.task_key, patch: patch({ title: "z" }), expectedVersion: [1, 2] }))
        .version,
    ).toBe(3);
    expect(ifMatchSatisfied("*", 9)).toBe(true);
    expect(ifMatchSatisfied('"3", "9"', 9)).toBe(true);
    expect(ifMatchSatisfied('W/"9"', 9)).toBe(false);
    expect(ifMatchSatisfied("9", 9)).toBe(false);
    expect(ifMatchSatisfied(null, 9)).toBe(true);
  });

  it("runs the agent flow: plan, start, complete with a result, review", async () => {
    const t = await createTask(...cmd(opened.db, audit), body({ title: "x" }));
    const planned = await updateTask(...cmd(opened.db, audit), {
      task: t.task_key,
      patch: patch({ lifecycle_action: "plan", planMarkdown: "# Plan" }),
    });
    expect(planned).toMatchObject({ status: "todo", plan_markdown: "# Plan", run_state: null });
    const started = await updateTask(...cmd(opened.db, audit), {
      task: t.task_key,
      patch: patch({ lifecycle_action: "start", engine: "claude-code" }),
    });
    expect(started).toMatchObject({ status: "todo", run_state: "working", engine: "claude-code" });
    expect(started.run_state_updated_at).not.toBeNull();
    const done = await updateTask(...cmd(opened.db, audit), {
      task: t.task_key,
      patch: patch({ lifecycle_action: "complete", result: { summary: "ok", tests: 3 } }),
    });
    expect(done).toMatchObject({ status: "ready", run_state: null, result: { summary: "ok", tests: 3 } });
    const conflict = await errorOf(
      updateTask(...cmd(opened.db, audit), { task: t.task_key, patch: patch({ lifecycle_action: "complete" }) }),
    );
    expect(conflict.code).toBe("CONFLICT");
    expect(conflict.message).toContain("current status: ready");
    expect(
      (await updateTask(...cmd(opened.db, audit), { task: t.task_key, patch: patch({ lifecycle_action: "review" }) })).status,
    ).toBe("done");
  });

  it("sets archived_at on archiving and clears it on leaving, and a status change clears run_state", async () => {
    const t = await createTask(...cmd(opened.db, audit), body({ title: "x" }));
    await updateTask(...cmd(opened.db, audit), { task: t.task_key, patch: patch({ lifecycle_action: "start" }) });
    const archived = await setTaskStatus(...cmd(opened.db, audit), { task: t.task_key, patch: { status: "archived" } });
    expect(archived.archived_at).not.toBeNull();
    expect(archived.run_state).toBeNull();
    const back = await updateTask(...cmd(opened.db, audit), { task: t.task_key, patch: patch({ status: "todo" }) });
    expect(back.archived_at).toBeNull();
    expect(back.status).toBe("todo");
  });

  it("replaces labels and acceptance criteria, and clears the branch with an empty string", async () => {
    const t = await createTask(
      ...cmd(opened.db, audit),
      body({ title: "x", labels: ["a", "b"], acceptance_criteria: ["one"], branch: "feat/x" }),
    );
    const u = await updateTask(...cmd(opened.db, audit), {
      task: t.task_key,
      patch: patch({ labels: ["B", "c"], acceptance_criteria: ["two", "three"], branch: "" }),
    });
    expect(u.labels).toEqual(["b", "c"]);
    expect(u.acceptance_criteria).toEqual(["two", "three"]);
    expect(u.branch).toBeNull();
  });
});

describe("listing tasks", () => {
  it("treats % and _ in q as plain text", async () => {
    for (const title of ["100% done", "1000 done", "snake_case", "snakeXcase", "back\\slash"])
      await createTask(...cmd(opened.db, audit), body({ title }));
    const titles = async (q: string) => (await listTasks(opened.db, query({ q }))).tasks.map((t) => t.title).sort();
    expect(await titles("%")).toEqual(["100% done"]);
    expect(await titles("_")).toEqual(["snake_case"]);
    expect(await titles("\\")).toEqual(["back\\slash"]);
    expect(await titles("DONE")).toEqual(["100% done", "1000 done"]);
    expect(escapeLike("a%b_c\\")).toBe("a\\%b\\_c\\\\");
  });

  it("walks every task exactly once through next_cursor, newest first", async () => {
    let now = Date.parse("2026-01-01T00:00:00.000Z");
    for (let i = 0; i < 45; i++)
      await createTask(...cmd(opened.db, audit), body({ title: `t${i}` }), (now += i % 3 === 0 ? 0 : 1));
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await listTasks(opened.db, query(cursor ? { limit: "10", cursor } : { limit: "10" }));
      seen.push(...page.tasks.map((t) => t.task_key));
      cursor = page.next_cursor ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(5);
    expect(new Set(seen).size).toBe(45);
    expect(seen).toHaveLength(45);
    expect(seen[0]).toBe("WID-45");
  });

  it("answers the compiled common shapes (status, project, cursor) exactly as the query built per request", async () => {
    await createProject(...cmd(opened.db, audit), { name: "Gadgets", project_key: "GAD" });
    let now = Date.parse("2026-01-01T00:00:00.000Z");
    const statuses = ["inbox", "todo", "hold"] as const;
    for (let i = 0; i < 30; i++) {
      const labels = i % 4 === 0 ? [] : [`l${i % 3}`, `m${i % 5}`];
      await createTask(
        ...cmd(opened.db, audit),
        body({ title: `t${i}`, project_key: i % 2 ? "WID" : "GAD", status: statuses[i % 3], labels }),
        (now += i % 4 === 0 ? 0 : 1000),
      );
    }
    const projects = await opened.db.selectFrom("projects").select(["id", "project_key"]).execute();
    const widId = projects.find((p) => p.project_key === "WID")!.id;
    for (const q of [{}, { status: "todo" }, { project_key: "WID" }, { status: "hold", project_key: "WID" }] as Record<
      string,
      string
    >[]) {
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await listTasks(opened.db, query({ ...q, limit: "4", ...(cursor ? { cursor } : {}) }));
        // The same page through the builder (never prepared), labels and all.
        const position = cursor ? JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) : null;
        const built = await taskListQuery(opened.db, query({ ...q, limit: "4" }), {
          projectId: q.project_key ? widId : undefined,
          position: position && { updatedAt: position.u, id: position.i },
        }).execute();
        expect(page.tasks.map((t) => [t.task_key, t.labels])).toEqual(
          built.slice(0, 4).map((r) => [r.task_key, JSON.parse(r.labels_json)]),
        );
        cursor = page.next_cursor ?? undefined;
        pages += 1;
      } while (cursor);
      expect(pages).toBeGreaterThan(1);
    }
  });

  it("filters by status, label, run_state and updated_since, and lists the project's labels", async () => {
    const a = await createTask(
      ...cmd(opened.db, audit),
      body({ title: "a", labels: ["Backend"], status: "todo" }),
      Date.parse("2026-01-01T00:00:00Z"),
    );
    await createTask(...cmd(opened.db, audit), body({ title: "b", labels: ["ui"] }), Date.parse("2026-02-01T00:00:00Z"));
    await updateTask(
      ...cmd(opened.db, audit),
      {
        task: a.task_key,
        patch: patch({ lifecycle_action: "start" }),
      },
      Date.parse("2026-01-02T00:00:00Z"),
    );
    const keys = async (q: Record<string, string>) => (await listTasks(opened.db, query(q))).tasks.map((t) => t.title);
    expect(await keys({ status: "todo" })).toEqual(["a"]);
    expect(await keys({ label: "BACKEND" })).toEqual(["a"]);
    expect(await keys({ run_state: "running" })).toEqual(["a"]);
    expect(await keys({ updated_since: "2026-01-15" })).toEqual(["b"]);
    expect(await keys({ project_key: "wid" })).toEqual(["b", "a"]);
    expect(await keys({ project_key: "NONE" })).toEqual([]);
    expect((await listTasks(opened.db, query({ project_key: "WID" }))).available_labels.map((l) => l.name)).toEqual([
      "Backend",
      "ui",
    ]);
  });

  it("answers a forged cursor with a 400 naming cursor", async () => {
    const error = await errorOf(listTasks(opened.db, query({ cursor: "eyJ2IjoxfQ" })));
    expect(error.code).toBe("VALIDATION_ERROR");
    expect(error.details).toEqual([{ path: "cursor", message: expect.any(String) }]);
  });
});

describe("the list query plan", () => {
  /** SQLite's plan for one page with these filters, as one string. */
  function plan(q: Record<string, string>, scope: { projectId?: string }, cursor: boolean): string {
    const position = cursor ? { updatedAt: "2026-01-01T00:00:00.000Z", id: "00000000-0000-4000-8000-000000000000" } : null;
    const compiled = taskListQuery(opened.db, query(q), { ...scope, position }).compile();
    const rows = opened.sqlite.prepare(`explain query plan ${compiled.sql}`).all(...(compiled.parameters as unknown[])) as {
      detail: string;
    }[];
    return rows.map((r) => r.detail).join(" | ");
  }

  it("never sorts the matching rows: an index yields the keyset order for every filter", () => {
    const cases: [Record<string, string>, { projectId?: string }, RegExp][] = [
      [{}, {}, /tasks_order/],
      [{ status: "todo" }, {}, /tasks_status_order/],
      [{ priority: "high" }, {}, /tasks_priority_order/],
      [{ engine: "codex" }, {}, /tasks_engine_order/],
      [{ run_state: "working" }, {}, /tasks_run_state_order/],
      [{}, { projectId: "p" }, /tasks_project_id_order/],
      [{ updated_since: "2025-01-01" }, {}, /tasks_order/],
      [{ q: "login" }, {}, /tasks_order/],
      [{ label: "backend" }, {}, /tasks_order/],
    ];
    for (const [q, scope, index] of cases) {
      for (const cursor of [false, true]) {
        const text = plan(q, scope, cursor);
        expect(text, `${JSON.stringify(q)} cursor=${cursor}`).toMatch(index);
        // The only sort allowed is of one task's own labels (found by task_id), for its labels array.
        expect(text, `${JSON.stringify(q)} cursor=${cursor}`).not.toMatch(/TEMP B-TREE FOR (?!json_group_array\(ORDER BY\))/);
        expect(text).toMatch(/SEARCH task_labels USING INDEX \w+ \(task_id=\?\)/);
      }
    }
  });
});
