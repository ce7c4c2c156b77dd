import { describe, expect, it } from "vitest";
import type { AuditContext } from "../../app/lib/audit/log.server";
import type { Change } from "../../app/lib/audit/actions";
import { listActivity } from "../../app/lib/comments/activity.server";
import {
  COMMENT_TRANSITIONS,
  createComment,
  getComment,
  listComments,
  replyToComment,
  setCommentState,
} from "../../app/lib/comments/comments.server";
import { ActivityQuerySchema, CommentBodySchema, CommentStateBodySchema } from "../../app/lib/comments/schemas";
import { DomainError } from "../../app/lib/domain/errors";
import { createProject } from "../../app/lib/projects/projects.server";
import { setTaskNote } from "../../app/lib/tasks/note.server";
import { PatchTaskBodySchema, TaskNoteBodySchema } from "../../app/lib/tasks/schemas";
import { createTask, deleteTask, getTaskView, updateTask } from "../../app/lib/tasks/tasks.server";
import { testAuditSigner } from "../support/audit-key";
import { cmd, testDatabase, testAudit, type TestDatabase } from "../support/kit";

const ctxOf = (actor: AuditContext["actor"]): AuditContext => ({
  actor,
  ip: "127.0.0.1",
  userAgent: "vitest",
  requestId: "r-1",
  signer: testAuditSigner,
});
const owner = ctxOf({ type: "owner", id: "o-1", label: "owner@example.com" });
const agent = ctxOf({ type: "token", id: "7", label: "claude-bot" });
const oauth = ctxOf({ type: "token", id: "oauth:3", label: "oauth:Codex CLI" });

async function setup(): Promise<{ t: TestDatabase; key: string }> {
  const t = await testDatabase();
  await createProject(...cmd(t.db, testAudit), { name: "Widgets", project_key: "WID" });
  const task = await createTask(...cmd(t.db, testAudit), { title: "Ship it", project_key: "WID" });
  return { t, key: task.task_key };
}

async function expectDomainError(work: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  const error = await work.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DomainError);
  expect((error as DomainError).code).toBe(code);
  if (message) expect((error as DomainError).message).toMatch(message);
}

async function auditActions(t: TestDatabase): Promise<string[]> {
  const rows = await t.db.selectFrom("audit_log").select("action").orderBy("seq").execute();
  return rows.map((r) => r.action);
}

describe("comments", () => {
  it("an owner's comment starts queued, an agent's with no run state; the author is the owner or {type, name}", async () => {
    const { t, key } = await setup();
    const published: Change[] = [];
    const asked = await createComment(...cmd(t.db, owner, { publish: (c) => published.push(...c) }), {
      taskId: key.toLowerCase(),
      body: { body: "Which approach?" },
    });
    expect(asked).toMatchObject({
      task_key: key,
      body: "Which approach?",
      author: "owner",
      parent_id: null,
      run_state: "queued",
    });
    expect(published).toEqual([
      expect.objectContaining({ action: "comment.create", resourceType: "comment", resourceId: asked.id }),
    ]);
    const said = await createComment(...cmd(t.db, agent), { taskId: key, body: { body: "FYI" } });
    expect(said).toMatchObject({ author: { type: "token", name: "claude-bot" }, run_state: null });
    const viaOauth = await createComment(...cmd(t.db, oauth), { taskId: key, body: { body: "hi" } });
    expect(viaOauth.author).toEqual({ type: "oauth", name: "Codex CLI" });
    expect(Object.keys(asked)).toEqual([
      "id",
      "task_key",
      "body",
      "author",
      "parent_id",
      "run_state",
      "error_message",
      "created_at",
      "updated_at",
    ]);
    expect(await getComment(t.db, asked.id.toUpperCase())).toEqual(asked);
  });

  it("the whole conversation: queued → working, a reply under the comment, done; each write one audit entry", async () => {
    const { t, key } = await setup();
    const asked = await createComment(...cmd(t.db, owner), { taskId: key, body: { body: "Which approach?" } }, 1_000);
    const working = await setCommentState(...cmd(t.db, agent), { commentId: asked.id, state: { run_state: "working" } }, 2_000);
    expect(working.run_state).toBe("working");
    expect(working.updated_at).toBe(new Date(2_000).toISOString());
    const reply = await replyToComment(...cmd(t.db, agent), { commentId: asked.id, body: { body: "Option B" } }, 3_000);
    expect(reply).toMatchObject({
      parent_id: asked.id,
      task_key: key,
      run_state: null,
      author: { type: "token", name: "claude-bot" },
    });
    const done = await setCommentState(...cmd(t.db, agent), { commentId: asked.id, state: { run_state: "done" } }, 4_000);
    expect(done.run_state).toBe("done");
    expect((await listComments(t.db, key)).map((c) => [c.body, c.parent_id, c.run_state])).toEqual([
      ["Which approach?", null, "done"],
      ["Option B", asked.id, null],
    ]);
    expect((await auditActions(t)).slice(-4)).toEqual(["comment.create", "comment.state", "comment.reply", "comment.state"]);
    const last = await t.db.selectFrom("audit_log").selectAll().orderBy("seq", "desc").executeTakeFirstOrThrow();
    expect(JSON.parse(last.changes)).toEqual({ run_state: { before: "working", after: "done" } });
    expect(last).toMatchObject({ resource_type: "comment", resource_id: asked.id, actor_label: "claude-bot" });
  });

  it("failed keeps its error_message; another state clears it; done is final; a comment with no state takes none", async () => {
    const { t, key } = await setup();
    const asked = await createComment(...cmd(t.db, owner), { taskId: key, body: { body: "Run the tests" } });
    const failed = await setCommentState(...cmd(t.db, agent), {
      commentId: asked.id,
      state: { run_state: "failed", error_message: "CI is down" },
    });
    expect(failed).toMatchObject({ run_state: "failed", error_message: "CI is down" });
    const again = await setCommentState(...cmd(t.db, agent), { commentId: asked.id, state: { run_state: "working" } });
    expect(again).toMatchObject({ run_state: "working", error_message: null });
    await setCommentState(...cmd(t.db, agent), { commentId: asked.id, state: { run_state: "done" } });
    const before = await auditActions(t);
    await expectDomainError(
      setCommentState(...cmd(t.db, agent), { commentId: asked.id, state: { run_state: "working" } }),
      "CONFLICT",
      /is done; run_state working is not allowed from it \(it is final\)/,
    );
    const note = await createComment(...cmd(t.db, agent), { taskId: key, body: { body: "FYI" } });
    await expectDomainError(
      setCommentState(...cmd(t.db, agent), { commentId: note.id, state: { run_state: "done" } }),
      "CONFLICT",
      /asks for no work/,
    );
    expect((await auditActions(t)).length).toBe(before.length + 1); // only the FYI comment was written
    expect(COMMENT_TRANSITIONS.queued).toContain("working");
  });

  it("refuses a reply to a reply (CONFLICT), unknown ids (NOT_FOUND), and writes nothing", async () => {
    const { t, key } = await setup();
    const asked = await createComment(...cmd(t.db, owner), { taskId: key, body: { body: "Q" } });
    const reply = await replyToComment(...cmd(t.db, agent), { commentId: asked.id, body: { body: "A" } });
    const before = await auditActions(t);
    await expectDomainError(
      replyToComment(...cmd(t.db, agent), { commentId: reply.id, body: { body: "A2" } }),
      "CONFLICT",
      /is a reply; reply to its comment/,
    );
    await expectDomainError(
      replyToComment(...cmd(t.db, agent), { commentId: "00000000-0000-4000-8000-000000000000", body: { body: "x" } }),
      "NOT_FOUND",
    );
    await expectDomainError(getComment(t.db, "nope"), "NOT_FOUND");
    await expectDomainError(createComment(...cmd(t.db, agent), { taskId: "WID-99", body: { body: "x" } }), "NOT_FOUND");
    // Not found comes before the body's own error.
    await expectDomainError(
      createComment(...cmd(t.db, agent), {
        taskId: "WID-99",
        body: () => {
          throw new Error("body read");
        },
      }),
      "NOT_FOUND",
    );
    await expectDomainError(listComments(t.db, "WID-99"), "NOT_FOUND");
    expect(await auditActions(t)).toEqual(before);
    expect(await t.db.selectFrom("task_comments").select("id").execute()).toHaveLength(2);
  });

  it("validates bodies and states", () => {
    expect(CommentBodySchema.safeParse({ body: "" }).success).toBe(false);
    expect(CommentBodySchema.safeParse({ body: " \n\t" }).success).toBe(false);
    expect(CommentBodySchema.safeParse({ body: "x".repeat(50_000) }).success).toBe(true);
    expect(CommentBodySchema.safeParse({ body: "x".repeat(50_001) }).success).toBe(false);
    expect(CommentBodySchema.safeParse({ body: "ok\u0007" }).success).toBe(false);
    expect(CommentBodySchema.safeParse({ body: "ok", extra: 1 }).success).toBe(false);
    expect(CommentStateBodySchema.safeParse({ run_state: "running" }).success).toBe(false);
    expect(CommentStateBodySchema.safeParse({ run_state: "done", error_message: "x" }).success).toBe(false);
    expect(CommentStateBodySchema.safeParse({ run_state: "failed", error_message: "x" }).success).toBe(true);
  });

  it("a comment's task going away takes its comments with it", async () => {
    const { t, key } = await setup();
    await createComment(...cmd(t.db, owner), { taskId: key, body: { body: "Q" } });
    await deleteTask(...cmd(t.db, testAudit), { task: key });
    expect(await t.db.selectFrom("task_comments").select("id").execute()).toHaveLength(0);
  });
});

describe("task note", () => {
  it("sets the note and artifacts (version +1, task.note), never the status; '' clears the note", async () => {
    const { t, key } = await setup();
    const before = await getTaskView(t.db, key);
    expect(before).toMatchObject({ note_markdown: null, artifacts: [] });
    const artifacts = [{ type: "pr", title: "PR #1", url: "https://github.com/o/r/pull/1" }];
    const after = await setTaskNote(...cmd(t.db, agent), { taskId: key, note: { note_markdown: "## Working", artifacts } });
    expect(after).toMatchObject({ note_markdown: "## Working", artifacts, status: before.status, version: before.version + 1 });
    const entry = await t.db.selectFrom("audit_log").selectAll().orderBy("seq", "desc").executeTakeFirstOrThrow();
    expect(entry).toMatchObject({ action: "task.note", resource_type: "task", resource_id: key });
    expect(Object.keys(JSON.parse(entry.changes))).toEqual(["note_markdown", "artifacts"]);
    const cleared = await setTaskNote(...cmd(t.db, agent), { taskId: key, note: { note_markdown: "" } });
    expect(cleared).toMatchObject({ note_markdown: null, artifacts, version: before.version + 2 });
    const same = await setTaskNote(...cmd(t.db, agent), { taskId: key, note: { note_markdown: null } });
    expect(same.version).toBe(before.version + 2);
    await expectDomainError(
      setTaskNote(...cmd(t.db, agent), { taskId: key, note: { note_markdown: "x" }, expectedVersion: 1 }),
      "PRECONDITION_FAILED",
    );
    // A caller that hands the note to the general update gets an error, never a silent drop.
    await expectDomainError(
      updateTask(...cmd(t.db, testAudit), { task: key, patch: PatchTaskBodySchema.parse({ note_markdown: "lost?" }) }),
      "VALIDATION_ERROR",
      /task note command/,
    );
    expect((await getTaskView(t.db, key)).note_markdown).toBeNull();
  });

  it("accepts http(s) artifact URLs only, at most 20, and refuses a PATCH mixing the note with other fields", () => {
    const art = (url: string) => ({ artifacts: [{ type: "log", title: "Log", url }] });
    expect(TaskNoteBodySchema.safeParse(art("https://example.com/log")).success).toBe(true);
    expect(TaskNoteBodySchema.safeParse(art("http://example.com/log")).success).toBe(true);
    for (const bad of [
      "javascript:alert(1)",
      "JAVASCRIPT:alert(1)",
      "data:text/html,x",
      "file:///etc/passwd",
      "//evil.com",
      "https://",
      "ftp://x",
    ]) {
      expect(TaskNoteBodySchema.safeParse(art(bad)).success, bad).toBe(false);
    }
    const many = Array.from({ length: 21 }, (_, i) => ({ type: "log", title: `L${i}`, url: "https://e.com" }));
    expect(TaskNoteBodySchema.safeParse({ artifacts: many }).success).toBe(false);
    expect(TaskNoteBodySchema.safeParse({ note_markdown: "x".repeat(50_001) }).success).toBe(false);
    expect(TaskNoteBodySchema.safeParse({}).success).toBe(false);
    expect(PatchTaskBodySchema.safeParse({ noteMarkdown: "x" }).data).toMatchObject({ note_markdown: "x" });
    const mixed = PatchTaskBodySchema.safeParse({ note_markdown: "x", title: "y" });
    expect(mixed.success).toBe(false);
    expect(mixed.error?.issues[0]?.message).toMatch(/note_markdown go in a PATCH of their own \(not with title\)/);
  });
});

describe("activity", () => {
  it("lists a project's tasks, project and comment entries newest first, keyset-paged, with task keys and summaries", async () => {
    const { t, key } = await setup();
    await createProject(...cmd(t.db, testAudit), { name: "Other", project_key: "OTH" });
    await createTask(...cmd(t.db, testAudit), { title: "Elsewhere", project_key: "OTH" });
    const asked = await createComment(...cmd(t.db, owner), { taskId: key, body: { body: "Which\napproach?" } });
    await setCommentState(...cmd(t.db, agent), { commentId: asked.id, state: { run_state: "failed", error_message: "no idea" } });
    await setTaskNote(...cmd(t.db, agent), { taskId: key, note: { note_markdown: "n" } });
    const query = ActivityQuerySchema.parse({ project_key: "wid", limit: "2" });
    const first = await listActivity(t.db, query);
    expect(first.activity).toEqual([
      expect.objectContaining({ action: "task.note", actor: "claude-bot", task_key: key, summary: `Updated the note of ${key}` }),
      expect.objectContaining({ action: "comment.state", task_key: key, summary: `Marked a comment on ${key} failed: no idea` }),
    ]);
    const second = await listActivity(t.db, { ...query, cursor: first.next_cursor! });
    expect(second.activity.map((a) => [a.action, a.task_key, a.summary])).toEqual([
      ["comment.create", key, `Commented on ${key}: Which approach?`],
      ["task.create", key, `Created ${key}: Ship it`],
    ]);
    const third = await listActivity(t.db, { ...query, cursor: second.next_cursor! });
    expect(third).toEqual({
      activity: [expect.objectContaining({ action: "project.create", task_key: null })],
      next_cursor: null,
    });
    const all = await listActivity(t.db, ActivityQuerySchema.parse({}));
    expect(all.activity.filter((a) => a.task_key === "OTH-1")).toHaveLength(1);
    await expectDomainError(listActivity(t.db, { ...query, cursor: "garbage" }), "VALIDATION_ERROR");
    await expectDomainError(listActivity(t.db, ActivityQuerySchema.parse({ project_key: "NOPE" })), "NOT_FOUND");
    const empty = await listActivity(t.db, ActivityQuerySchema.parse({ to: "2000-01-01T00:00:00Z" }));
    expect(empty).toEqual({ activity: [], next_cursor: null });
    expect(ActivityQuerySchema.safeParse({ from: "2026-01-02T00:00:00Z", to: "2026-01-01T00:00:00Z" }).success).toBe(false);
    expect(ActivityQuerySchema.safeParse({ project_key: "WID,x" }).success).toBe(false);
  });
});
