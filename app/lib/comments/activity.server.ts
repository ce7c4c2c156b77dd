/**
 * A project's activity (contract §10): the audit log of its tasks, the project
 * itself and its tasks' comments over a time range, newest first, keyset-paged on
 * (created_at, seq) with the paging kit, each entry as `{at, action, actor,
 * task_key, summary}`. Task entries belong to a project by their key's prefix
 * (`KEY-n`: keys are never reused, so a deleted task's entries stay); comment
 * entries by their comment's task (a deleted task takes its comments, and so their
 * entries' place in the activity, with it; its `task.delete` entry stays).
 */
import { sql, type Expression, type SqlBool } from "kysely";
import { DomainError } from "../domain/errors";
import { keysetBeyond, opaqueCursor, serialPart, splitPage, timestampPart } from "../domain/paging.server";
import type { Db } from "../db.server";
import { requireProject } from "../projects/projects.server";
import type { ActivityInput, ActivityItem } from "./schemas";

/** base64url of `{"v":1,"a":<created_at>,"s":<seq>}`: the last entry of the page before. */
const ACTIVITY_CURSOR = opaqueCursor(["a", "s"], timestampPart, serialPart);

export interface ActivityPage {
  activity: ActivityItem[];
  next_cursor: string | null;
}

type Changes = Record<string, { before?: unknown; after?: unknown } | null>;

function parseChanges(text: string): Changes {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Changes) : {};
  } catch {
    return {};
  }
}

/** A value of an entry's changes as one short line (for a summary). */
function excerpt(value: unknown, max = 80): string {
  const text = (typeof value === "string" ? value : JSON.stringify(value ?? "")).replace(/\s+/g, " ").trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** One line saying what an entry did, from its action and changes (never more than the entry holds). */
export function activitySummary(entry: { action: string; resource_id: string; changes: string }, taskKey: string | null): string {
  const c = parseChanges(entry.changes);
  const fields = Object.keys(c);
  const after = (field: string) => c[field]?.after;
  const key = taskKey ?? entry.resource_id;
  switch (entry.action) {
    case "task.create":
      return `Created ${key}: ${excerpt(after("title"))}`;
    case "task.update":
      return fields.length ? `Updated ${key} (${fields.join(", ")})` : `Updated ${key} (no change)`;
    case "task.status":
      return c.status ? `Moved ${key} to ${excerpt(after("status"))}` : `Set the status of ${key} (no change)`;
    case "task.delete":
      return `Deleted ${key}`;
    case "task.claim":
      return `Claimed ${key}`;
    case "task.release":
      return `Released ${key}`;
    case "task.lease_expired":
      return `The lease on ${key} expired`;
    case "task.dependencies":
      return `Changed what ${key} is blocked by`;
    case "task.note":
      return fields.length
        ? `Updated the ${fields.map((f) => f.replace("_markdown", "")).join(" and ")} of ${key}`
        : `Set the note of ${key} (no change)`;
    case "comment.create":
      return `Commented on ${key}: ${excerpt(after("body"))}`;
    case "comment.reply":
      return `Replied on ${key}: ${excerpt(after("body"))}`;
    case "comment.state": {
      if (!c.run_state) return `Updated a comment on ${key}`;
      const message = after("error_message");
      return `Marked a comment on ${key} ${excerpt(after("run_state"))}${message ? `: ${excerpt(message)}` : ""}`;
    }
    case "project.create":
      return `Created project ${entry.resource_id}`;
    case "project.update":
      return fields.length
        ? `Updated project ${entry.resource_id} (${fields.join(", ")})`
        : `Updated project ${entry.resource_id}`;
    default:
      return `${entry.action} ${entry.resource_id}`;
  }
}

/**
 * One page of activity. Unknown project keys are NOT_FOUND; a cursor this server did
 * not issue is a VALIDATION_ERROR (path `cursor`).
 */
export async function listActivity(db: Db, input: ActivityInput, now = Date.now()): Promise<ActivityPage> {
  const position = input.cursor === undefined ? null : ACTIVITY_CURSOR.decode(input.cursor);
  if (input.cursor !== undefined && !position) {
    throw new DomainError("VALIDATION_ERROR", "cursor: Not a cursor this server issued", [
      { path: "cursor", message: "Not a cursor this server issued" },
    ]);
  }
  const projects = input.project_keys ? await Promise.all(input.project_keys.map((key) => requireProject(db, key))) : null;
  const from = input.from === undefined ? undefined : new Date(input.from).toISOString();
  const to = new Date(input.to === undefined ? now : input.to).toISOString();

  // The comment's task, for comment entries (null once the task, and so the comment, is gone).
  const commentTaskKey = sql<string | null>`(select t.task_key from task_comments c
    inner join tasks t on t.id = c.task_id where c.id = audit_log.resource_id)`;

  let query = db
    .selectFrom("audit_log")
    .select(["seq", "created_at", "action", "actor_label", "resource_type", "resource_id", "changes"])
    .select(commentTaskKey.as("comment_task_key"))
    .where("resource_type", "in", ["task", "project", "comment"])
    .where("created_at", "<=", to);
  if (from !== undefined) query = query.where("created_at", ">=", from);
  if (projects) {
    const ids = projects.map((p) => p.id);
    query = query.where((eb) => {
      const of: Expression<SqlBool>[] = [];
      for (const project of projects) {
        of.push(eb.and([eb("resource_type", "=", "project"), eb("resource_id", "=", project.project_key)]));
        of.push(eb.and([eb("resource_type", "=", "task"), eb("resource_id", "like", `${project.project_key}-%`)]));
      }
      of.push(
        eb.and([
          eb("resource_type", "=", "comment"),
          eb(
            "resource_id",
            "in",
            eb
              .selectFrom("task_comments")
              .innerJoin("tasks", "tasks.id", "task_comments.task_id")
              .select("task_comments.id")
              .where("tasks.project_id", "in", ids),
          ),
        ]),
      );
      return eb.or(of);
    });
  }
  if (position) query = query.where(keysetBeyond(["created_at", "seq"], "<", position));
  const rows = await query
    .orderBy("created_at", "desc")
    .orderBy("seq", "desc")
    .limit(input.limit + 1)
    .execute();
  const { page, more } = splitPage(rows, input.limit);
  const last = page[page.length - 1];
  return {
    activity: page.map((row) => {
      const taskKey =
        row.resource_type === "task" ? row.resource_id : row.resource_type === "comment" ? row.comment_task_key : null;
      return {
        at: row.created_at,
        action: row.action,
        actor: row.actor_label,
        task_key: taskKey,
        summary: activitySummary(row, taskKey),
      };
    }),
    next_cursor: more && last ? ACTIVITY_CURSOR.encode([last.created_at, last.seq]) : null,
  };
}
