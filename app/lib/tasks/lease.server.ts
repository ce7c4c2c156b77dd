/**
 * Claims with leases (contract §11), the parts every task command needs: who may
 * hold a claim, the one conditional UPDATE that takes it, why a claim was refused,
 * and the expiry of leases that ran out. The commands built on them are in
 * claims.server.ts; updateTask (tasks.server.ts) uses the same claim for `start`.
 *
 * Every statement here is plain SQL that PostgreSQL runs unchanged: timestamps are
 * ISO 8601 UTC text (they compare as text in time order), no SQLite functions.
 */
import { sql, type Expression, type SqlBool } from "kysely";
import type { ClaimantType, TaskRow } from "../../../db/schema";
import type { CommandTx } from "../command/command.server";
import type { Actor, ActorContext } from "../domain/context";
import { DomainError } from "../domain/errors";
import { nowIso, type Db } from "../db.server";
import { LIFECYCLE_RULES } from "./lifecycle";

export const LEASE_LIMITS = { min: 10, max: 86_400, default: 900 } as const;

/** Statuses that count as finished: a blocker in one of them no longer blocks. */
export const CLOSED_STATUSES = ["done", "archived"] as const;

/** Who holds (or asks for) a claim: a token or an OAuth grant, by id, with the name shown. */
export interface Claimant {
  type: ClaimantType;
  id: string;
  name: string;
}

/** The claimant a change's actor stands for; only an agent (a token or OAuth grant) can hold a claim. */
export function claimantOf(actor: Actor): Claimant {
  const type = actor.type as string;
  if (type !== "token" && type !== "oauth") {
    throw new DomainError("CONFLICT", "Only an agent (an API token or an OAuth grant) can claim a task");
  }
  return { type, id: actor.id, name: actor.label };
}

/** What a task view shows of its claim: the holder while the lease is live, else null. */
export function claimOf(
  row: Pick<TaskRow, "claimed_by_type" | "claimed_by_name" | "lease_expires_at">,
  at: string = nowIso(),
): { claimed_by: { type: ClaimantType; name: string } | null; lease_expires_at: string | null } {
  if (row.claimed_by_type === null || row.lease_expires_at === null || row.lease_expires_at <= at) {
    return { claimed_by: null, lease_expires_at: null };
  }
  return { claimed_by: { type: row.claimed_by_type, name: row.claimed_by_name ?? "" }, lease_expires_at: row.lease_expires_at };
}

/** `holder` as a message shows it: `token "ci-agent"`. */
export function holderText(row: Pick<TaskRow, "claimed_by_type" | "claimed_by_name">): string {
  return `${row.claimed_by_type === "oauth" ? "OAuth grant" : "token"} "${row.claimed_by_name ?? ""}"`;
}

// ---------------------------------------------------------------- conditions

/** The task (`tasks`, the row being written or read) has no blocker that is still open. */
export function noOpenBlocker(): Expression<SqlBool> {
  return sql<SqlBool>`not exists (select 1 from task_dependencies d inner join tasks b on b.id = d.blocker_id
    where d.task_id = tasks.id and b.status not in ('done', 'archived'))`;
}

/** Nobody holds the task's lease at `at`: never claimed, released, or expired. */
export function leaseFree(at: string): Expression<SqlBool> {
  return sql<SqlBool>`(tasks.claimed_by_id is null or tasks.lease_expires_at <= ${at})`;
}

/** `claimant` holds a live lease on the task at `at`. */
function heldBy(claimant: Claimant, at: string): Expression<SqlBool> {
  return sql<SqlBool>`(tasks.claimed_by_type = ${claimant.type} and tasks.claimed_by_id = ${claimant.id}
    and tasks.lease_expires_at > ${at})`;
}

// ---------------------------------------------------------------- the claim

const CLAIMABLE = LIFECYCLE_RULES.start.from;

/**
 * Takes (or, for its holder, renews) the lease on a task in ONE conditional write:
 * `UPDATE tasks SET … WHERE id = ? AND status may start AND (the lease is free, expired
 * or the caller's) AND no blocker is open RETURNING *`. Under any concurrency at most
 * one caller's row comes back; the others get undefined (explainRefusal says why).
 * A fresh claim starts a fresh run: run_state `working` since now; a renewal keeps
 * the run's start. `set` carries the other fields changed with it (a PATCH's).
 */
export async function claimRow(
  trx: Db,
  taskId: string,
  claimant: Claimant,
  leaseSeconds: number,
  now: number,
  set: Partial<TaskRow> = {},
): Promise<TaskRow | undefined> {
  const at = nowIso(now);
  const mine = heldBy(claimant, at);
  return trx
    .updateTable("tasks")
    .set({
      ...set,
      claimed_by_type: claimant.type,
      claimed_by_id: claimant.id,
      claimed_by_name: claimant.name,
      lease_expires_at: nowIso(now + leaseSeconds * 1000),
      run_state: "working",
      run_state_updated_at: sql<string>`case when ${mine} and run_state = 'working' then run_state_updated_at else ${at} end`,
      version: sql<number>`version + 1`,
      updated_at: at,
    })
    .where("id", "=", taskId)
    .where("status", "in", CLAIMABLE)
    .where(sql<SqlBool>`(${leaseFree(at)} or ${mine})`)
    .where(noOpenBlocker())
    .returningAll()
    .executeTakeFirst();
}

/** The open blockers of a task (key and status), in the order they were given. */
export async function openBlockers(trx: Db, taskId: string): Promise<{ task_key: string; status: string }[]> {
  return trx
    .selectFrom("task_dependencies")
    .innerJoin("tasks", "tasks.id", "task_dependencies.blocker_id")
    .select(["tasks.task_key", "tasks.status"])
    .where("task_dependencies.task_id", "=", taskId)
    .where("tasks.status", "not in", CLOSED_STATUSES)
    .orderBy("task_dependencies.position")
    .execute();
}

/**
 * Why `claimant` may not claim `task` now (read in the same transaction), as the
 * CONFLICT the caller answers: its status, another holder's live lease, an open blocker.
 */
export async function claimRefusal(trx: Db, task: TaskRow, claimant: Claimant, now: number): Promise<DomainError> {
  const at = nowIso(now);
  if (!CLAIMABLE.includes(task.status)) {
    return new DomainError(
      "CONFLICT",
      `Cannot start a task in status ${task.status}; start is allowed from ${CLAIMABLE.join(", ")} (current status: ${task.status})`,
    );
  }
  const live = task.claimed_by_id !== null && task.lease_expires_at !== null && task.lease_expires_at > at;
  if (live && !(task.claimed_by_type === claimant.type && task.claimed_by_id === claimant.id)) {
    return new DomainError("CONFLICT", `Task ${task.task_key} is claimed by ${holderText(task)} until ${task.lease_expires_at}`);
  }
  const blockers = await openBlockers(trx, task.id);
  if (blockers.length > 0) {
    const list = blockers.map((b) => `${b.task_key} (${b.status})`).join(", ");
    return new DomainError("CONFLICT", `Task ${task.task_key} is blocked by open task${blockers.length > 1 ? "s" : ""} ${list}`);
  }
  return new DomainError("CONFLICT", `Task ${task.task_key} changed while it was being claimed; try again`);
}

/** The claim's fields as an audit entry shows them, before and after a change. */
export function claimChanges(before: TaskRow, after: TaskRow, at: string): Record<string, { before: unknown; after: unknown }> {
  const changes: Record<string, { before: unknown; after: unknown }> = {};
  const b = claimOf(before, at);
  const a = claimOf(after, at);
  if (JSON.stringify(b.claimed_by) !== JSON.stringify(a.claimed_by))
    changes.claimed_by = { before: b.claimed_by, after: a.claimed_by };
  if (b.lease_expires_at !== a.lease_expires_at)
    changes.lease_expires_at = { before: b.lease_expires_at, after: a.lease_expires_at };
  if (before.run_state !== after.run_state) changes.run_state = { before: before.run_state, after: after.run_state };
  return changes;
}

/** The fields that end a claim (complete, block, review, a status change, a release, an expiry). */
export const NO_CLAIM = {
  claimed_by_type: null,
  claimed_by_id: null,
  claimed_by_name: null,
  lease_expires_at: null,
} as const satisfies Partial<TaskRow>;

// ---------------------------------------------------------------- expiry

/** The actor of what nobody asked for: a lease that ran out. */
export const SYSTEM_ACTOR = { type: "system", id: "system", label: "system" } as const satisfies Actor;

/** The context the system acts in, within the request (or sweep) `requestId`. */
export function systemContext(requestId: string): ActorContext {
  return { actor: SYSTEM_ACTOR, ip: "local", userAgent: "preqstation", requestId, path: "system" };
}

/**
 * Frees every task whose lease has run out at `now` (or only `taskId`'s): claim gone,
 * run_state back to null, version +1, one `task.lease_expired` entry each (actor
 * system). Run in the caller's transaction; returns the keys freed. The UPDATE
 * re-checks the expiry, so a lease renewed in between is left alone.
 */
export async function expireLeases(tx: CommandTx, now: number, taskId?: string): Promise<string[]> {
  const trx = tx.db;
  const system = systemContext(tx.ctx.requestId);
  const at = nowIso(now);
  let expired = trx.selectFrom("tasks").selectAll().where("lease_expires_at", "<=", at).where("claimed_by_id", "is not", null);
  if (taskId !== undefined) expired = expired.where("id", "=", taskId);
  const rows = await expired.orderBy("lease_expires_at").limit(500).execute();
  if (rows.length === 0) return [];
  const freed = await trx
    .updateTable("tasks")
    .set({ ...NO_CLAIM, run_state: null, run_state_updated_at: at, version: sql<number>`version + 1`, updated_at: at })
    .where(
      "id",
      "in",
      rows.map((r) => r.id),
    )
    .where("lease_expires_at", "<=", at)
    .returning("id")
    .execute();
  const ids = new Set(freed.map((r) => r.id));
  const keys: string[] = [];
  for (const row of rows) {
    if (!ids.has(row.id)) continue;
    keys.push(row.task_key);
    await tx.audit(
      {
        action: "task.lease_expired",
        resourceType: "task",
        resourceId: row.task_key,
        changes: {
          claimed_by: { before: { type: row.claimed_by_type, name: row.claimed_by_name }, after: null },
          lease_expires_at: { before: row.lease_expires_at, after: null },
          run_state: { before: row.run_state, after: null },
        },
      },
      { as: system, now },
    );
  }
  return keys;
}

/** When the next live lease runs out (ISO), or null when no task is claimed. */
export async function nextLeaseExpiry(db: Db): Promise<string | null> {
  const row = await db
    .selectFrom("tasks")
    .select("lease_expires_at")
    .where("lease_expires_at", "is not", null)
    .orderBy("lease_expires_at")
    .limit(1)
    .executeTakeFirst();
  return row?.lease_expires_at ?? null;
}
