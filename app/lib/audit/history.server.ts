import type { Db } from "../db.server";

/** One audit entry about a resource, as its page shows it. */
export interface HistoryEntry {
  seq: number;
  at: string;
  action: string;
  /** "owner", "token", "cli" … */
  actorType: string;
  /** Who: the owner's email, the token's name, or the CLI. */
  actor: string;
  channel: string | null;
  changes: { field: string; before?: unknown; after?: unknown }[];
}

/** The newest entries shown on a page; older ones are in the audit log console. */
export const HISTORY_LIMIT = 100;

function parseChanges(text: string): HistoryEntry["changes"] {
  try {
    const value: unknown = JSON.parse(text);
    if (!value || typeof value !== "object" || Array.isArray(value)) return [];
    return Object.entries(value as Record<string, { before?: unknown; after?: unknown } | null>).map(([field, c]) => ({
      field,
      before: c?.before ?? null,
      after: c?.after ?? null,
    }));
  } catch {
    return [];
  }
}

/**
 * A resource's story from the audit log, newest first (at most `limit` entries):
 * who did what, with each changed field's before and after. Task keys are never
 * given out twice, so a task key names one task's whole history.
 */
export async function resourceHistory(
  db: Db,
  resourceType: "task" | "project",
  resourceId: string,
  limit = HISTORY_LIMIT,
): Promise<HistoryEntry[]> {
  const rows = await db
    .selectFrom("audit_log")
    .select(["seq", "created_at", "action", "actor_type", "actor_label", "channel", "changes"])
    .where("resource_type", "=", resourceType)
    .where("resource_id", "=", resourceId)
    .orderBy("seq", "desc")
    .limit(limit)
    .execute();
  return rows.map(historyEntry);
}

/**
 * A task's story: its own entries and those of its comments (contract §10: a
 * comment, a reply, a comment's run state), newest first, at most `limit`.
 */
export async function taskHistory(db: Db, taskKey: string, limit = HISTORY_LIMIT): Promise<HistoryEntry[]> {
  const rows = await db
    .selectFrom("audit_log")
    .select(["seq", "created_at", "action", "actor_type", "actor_label", "channel", "changes"])
    .where((eb) =>
      eb.or([
        eb.and([eb("resource_type", "=", "task"), eb("resource_id", "=", taskKey)]),
        eb.and([
          eb("resource_type", "=", "comment"),
          eb(
            "resource_id",
            "in",
            eb
              .selectFrom("task_comments")
              .innerJoin("tasks", "tasks.id", "task_comments.task_id")
              .select("task_comments.id")
              .where("tasks.task_key", "=", taskKey),
          ),
        ]),
      ]),
    )
    .orderBy("seq", "desc")
    .limit(limit)
    .execute();
  return rows.map(historyEntry);
}

function historyEntry(row: {
  seq: number;
  created_at: string;
  action: string;
  actor_type: string;
  actor_label: string;
  channel: string | null;
  changes: string;
}): HistoryEntry {
  return {
    seq: row.seq,
    at: row.created_at,
    action: row.action,
    actorType: row.actor_type,
    actor: row.actor_label,
    channel: row.channel,
    changes: parseChanges(row.changes),
  };
}

/**
 * The changes made to a task since version `since`: a task's version goes up by one
 * exactly when an update, status change or note change changed something, so these are its newest
 * `current - since` entries that changed something. Used to tell an owner whose form
 * was stale what happened meanwhile.
 */
export function changesSince(history: readonly HistoryEntry[], since: number, current: number): HistoryEntry[] {
  const wanted = current - since;
  if (wanted <= 0) return [];
  return history
    .filter((e) => (e.action === "task.update" || e.action === "task.status" || e.action === "task.note") && e.changes.length > 0)
    .slice(0, wanted);
}
