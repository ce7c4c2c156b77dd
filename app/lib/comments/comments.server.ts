/**
 * Comments on a task (contract §10): the owner asks on the task page, agents answer
 * over the API and MCP. A comment is top-level or a reply to a top-level comment of
 * the same task (one level: a reply to a reply is a CONFLICT). An owner's comment
 * asks for work and starts `queued`; an agent's starts with no run state. Every
 * write is a command: one transaction, one audit entry (`comment.create`,
 * `comment.reply`, `comment.state`, resource type `comment`, id the comment's),
 * published to the live pages after commit.
 */
import { randomUUID } from "node:crypto";
import type { CommentAuthorType, TaskCommentRow } from "../../../db/schema";
import { runCommand, type CommandDeps } from "../command/command.server";
import type { Actor, ActorContext } from "../domain/context";
import { DomainError } from "../domain/errors";
import { nowIso, type Db } from "../db.server";
import { quoted } from "../projects/projects.server";
import { requireTask } from "../tasks/tasks.server";
import type { CommentBody, CommentRunState, CommentStateBody, CommentView } from "./schemas";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type CommentWithTask = TaskCommentRow & { task_key: string };

/** Who wrote a comment, from the command's actor: the owner, a `preq_` token, or an OAuth client (grant actor ids are `oauth:<id>`). */
export function commentAuthor(actor: Actor): { author_type: CommentAuthorType; author_id: string; author_name: string } {
  if (actor.type === "owner") return { author_type: "owner", author_id: actor.id, author_name: actor.label };
  if (actor.type === "token") {
    if (actor.id.startsWith("oauth:")) {
      return { author_type: "oauth", author_id: actor.id, author_name: actor.label.replace(/^oauth:/, "") };
    }
    return { author_type: "token", author_id: actor.id, author_name: actor.label };
  }
  throw new Error(`a comment is written by the owner, a token or an OAuth client, not by ${actor.type}`);
}

/** What a client sees of a comment (contract §10), fields in the documented order. */
export function commentView(row: CommentWithTask): CommentView {
  return {
    id: row.id,
    task_key: row.task_key,
    body: row.body,
    author: row.author_type === "owner" ? "owner" : { type: row.author_type, name: row.author_name },
    parent_id: row.parent_id,
    run_state: row.run_state,
    error_message: row.error_message,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

function selectComments(db: Db) {
  return db
    .selectFrom("task_comments")
    .innerJoin("tasks", "tasks.id", "task_comments.task_id")
    .selectAll("task_comments")
    .select("tasks.task_key");
}

async function findComment(db: Db, id: string): Promise<CommentWithTask | undefined> {
  if (!UUID.test(id)) return undefined;
  return selectComments(db).where("task_comments.id", "=", id.toLowerCase()).executeTakeFirst();
}

async function requireComment(db: Db, id: string): Promise<CommentWithTask> {
  const comment = await findComment(db, id);
  if (!comment) throw new DomainError("NOT_FOUND", `Comment ${quoted(id)} not found`);
  return comment;
}

/** A task's comments, replies included (`parent_id`), oldest first; NOT_FOUND when there is no such task. */
export async function listComments(db: Db, taskIdOrKey: string): Promise<CommentView[]> {
  const task = await requireTask(db, taskIdOrKey);
  const rows = await selectComments(db)
    .where("task_comments.task_id", "=", task.id)
    .orderBy("task_comments.created_at")
    .orderBy("task_comments.id")
    .execute();
  return rows.map(commentView);
}

/** One comment by id; NOT_FOUND when there is none. */
export async function getComment(db: Db, id: string): Promise<CommentView> {
  return commentView(await requireComment(db, id));
}

/** A deferred input: the value, or a function that yields it (or throws the caller's input error) once the target is known to exist. */
export type Deferred<T> = T | (() => T);
const resolve = <T extends object>(input: Deferred<T>): T => (typeof input === "function" ? (input as () => T)() : input);

/** The state a new comment starts in: an owner's asks for work (`queued`); an agent's asks for none. */
function initialState(authorType: CommentAuthorType): CommentRunState | null {
  return authorType === "owner" ? "queued" : null;
}

async function insertComment(
  trx: Db,
  ctx: ActorContext,
  task: { id: string; task_key: string },
  parentId: string | null,
  body: string,
  now: number,
): Promise<CommentWithTask> {
  const author = commentAuthor(ctx.actor);
  const at = nowIso(now);
  const row: TaskCommentRow = {
    id: randomUUID(),
    task_id: task.id,
    parent_id: parentId,
    body,
    ...author,
    run_state: initialState(author.author_type),
    error_message: null,
    created_at: at,
    updated_at: at,
  };
  await trx.insertInto("task_comments").values(row).execute();
  return { ...row, task_key: task.task_key };
}

function creationChanges(comment: CommentWithTask): Record<string, { before: unknown; after: unknown }> {
  return {
    task_key: { before: null, after: comment.task_key },
    ...(comment.parent_id ? { parent_id: { before: null, after: comment.parent_id } } : {}),
    author: { before: null, after: comment.author_name },
    body: { before: null, after: comment.body },
    run_state: { before: null, after: comment.run_state },
  };
}

/**
 * A new top-level comment on a task (audit `comment.create`). The task is looked up
 * first (NOT_FOUND whatever the body), then the input (deferred) is resolved.
 */
export async function createComment(
  deps: CommandDeps,
  ctx: ActorContext,
  input: { taskId: string; body: Deferred<CommentBody> },
  now = Date.now(),
): Promise<CommentView> {
  return runCommand(deps, ctx, async (tx) => {
    const task = await requireTask(tx.db, input.taskId);
    const { body } = resolve(input.body);
    const comment = await insertComment(tx.db, ctx, task, null, body, now);
    await tx.audit(
      { action: "comment.create", resourceType: "comment", resourceId: comment.id, changes: creationChanges(comment) },
      { now },
    );
    return commentView(comment);
  });
}

/**
 * A reply to a top-level comment, on the same task (audit `comment.reply`). A reply
 * to a reply is a CONFLICT: the request is well formed, but the thread has one level
 * of replies, a rule of the target (like a lifecycle rule), not of the body.
 */
export async function replyToComment(
  deps: CommandDeps,
  ctx: ActorContext,
  input: { commentId: string; body: Deferred<CommentBody> },
  now = Date.now(),
): Promise<CommentView> {
  return runCommand(deps, ctx, async (tx) => {
    const parent = await requireComment(tx.db, input.commentId);
    const { body } = resolve(input.body);
    if (parent.parent_id !== null) {
      throw new DomainError(
        "CONFLICT",
        `Comment ${parent.id} is a reply; reply to its comment ${parent.parent_id} instead (replies are one level deep)`,
      );
    }
    const reply = await insertComment(tx.db, ctx, { id: parent.task_id, task_key: parent.task_key }, parent.id, body, now);
    await tx.audit(
      { action: "comment.reply", resourceType: "comment", resourceId: reply.id, changes: creationChanges(reply) },
      { now },
    );
    return commentView(reply);
  });
}

/**
 * The run-state changes a comment allows. A comment with no run state asks for no
 * work (an agent's comment, a reply) and takes none. Setting the state it already
 * has is allowed (a retried request; `failed` may restate its error_message).
 *
 *   queued  → working, done, failed
 *   working → queued (handed back), done, failed
 *   failed  → queued, working, done (tried again)
 *   done    → nothing else (final: a new question is a new comment)
 */
export const COMMENT_TRANSITIONS: Record<CommentRunState, readonly CommentRunState[]> = {
  queued: ["queued", "working", "done", "failed"],
  working: ["working", "queued", "done", "failed"],
  failed: ["failed", "queued", "working", "done"],
  done: ["done"],
};

/** CONFLICT naming the allowed states, or null when `from → to` is allowed. */
export function transitionRefusal(id: string, from: CommentRunState | null, to: CommentRunState): DomainError | null {
  if (from === null)
    return new DomainError("CONFLICT", `Comment ${id} asks for no work (run_state null); its state cannot be set`);
  const allowed = COMMENT_TRANSITIONS[from];
  if (allowed.includes(to)) return null;
  const others = allowed.filter((s) => s !== from);
  return new DomainError(
    "CONFLICT",
    `Comment ${id} is ${from}; run_state ${to} is not allowed from it` +
      (others.length ? ` (allowed: ${others.join(", ")})` : " (it is final)"),
  );
}

/**
 * Sets a comment's run state (audit `comment.state`): per COMMENT_TRANSITIONS,
 * CONFLICT otherwise. `error_message` is kept with `failed` (null when none is given)
 * and cleared by any other state.
 */
export async function setCommentState(
  deps: CommandDeps,
  ctx: ActorContext,
  input: { commentId: string; state: Deferred<CommentStateBody> },
  now = Date.now(),
): Promise<CommentView> {
  return runCommand(deps, ctx, async (tx) => {
    const comment = await requireComment(tx.db, input.commentId);
    const state = resolve(input.state);
    const refusal = transitionRefusal(comment.id, comment.run_state, state.run_state);
    if (refusal) throw refusal;
    const errorMessage = state.run_state === "failed" && state.error_message ? state.error_message : null;
    const changes: Record<string, { before: unknown; after: unknown }> = {};
    if (comment.run_state !== state.run_state) changes.run_state = { before: comment.run_state, after: state.run_state };
    if (comment.error_message !== errorMessage) changes.error_message = { before: comment.error_message, after: errorMessage };
    let after = comment;
    if (Object.keys(changes).length > 0) {
      const updated_at = nowIso(now);
      await tx.db
        .updateTable("task_comments")
        .set({ run_state: state.run_state, error_message: errorMessage, updated_at })
        .where("id", "=", comment.id)
        .execute();
      after = { ...comment, run_state: state.run_state, error_message: errorMessage, updated_at };
    }
    await tx.audit({ action: "comment.state", resourceType: "comment", resourceId: comment.id, changes }, { now });
    return commentView(after);
  });
}
