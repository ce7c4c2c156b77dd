/**
 * Dependencies between tasks (contract §11): a task is `blocked_by` other tasks (any
 * project) and `blocking` the tasks it blocks. The set is given whole (create, PATCH);
 * unknown keys and the task itself are a VALIDATION_ERROR, a cycle a CONFLICT naming it.
 */
import type { Db } from "../db.server";
import { DomainError } from "../domain/errors";

export const MAX_BLOCKERS = 50;

/** A task key as stored (upper case), from any case. */
const normalKey = (key: string) => key.trim().toUpperCase();

/**
 * The tasks `keys` name, in the given order, duplicates dropped. `self` (the task being
 * changed, if it exists yet) may not be among them. Unknown keys are one VALIDATION_ERROR
 * that names them all.
 */
export async function resolveBlockers(
  trx: Db,
  keys: readonly string[],
  self: { id: string; task_key: string } | null,
): Promise<{ id: string; task_key: string }[]> {
  const wanted = [...new Set(keys.map(normalKey))];
  if (self && wanted.includes(self.task_key)) {
    const index = keys.findIndex((k) => normalKey(k) === self.task_key);
    throw new DomainError("VALIDATION_ERROR", `A task cannot be blocked by itself (${self.task_key})`, [
      { path: `blocked_by.${index}`, message: "A task cannot be blocked by itself" },
    ]);
  }
  if (wanted.length === 0) return [];
  const rows = await trx.selectFrom("tasks").select(["id", "task_key"]).where("task_key", "in", wanted).execute();
  const byKey = new Map(rows.map((r) => [r.task_key, r]));
  const unknown = wanted.filter((k) => !byKey.has(k));
  if (unknown.length > 0) {
    throw new DomainError(
      "VALIDATION_ERROR",
      `blocked_by names unknown task${unknown.length > 1 ? "s" : ""}: ${unknown.join(", ")}`,
      [...unknown.map((k) => ({ path: `blocked_by.${keys.findIndex((g) => normalKey(g) === k)}`, message: `No task ${k}` }))],
    );
  }
  return wanted.map((k) => byKey.get(k)!);
}

/**
 * The cycle `task` blocked by `blockers` would close, as task keys from `task` back to
 * itself (`A-1 → A-2 → A-3 → A-1`: A-1 blocked by A-2, blocked by A-3, blocked by A-1),
 * or null. A breadth-first walk of the existing edges from the new blockers, one query
 * per level.
 */
export async function findCycle(
  trx: Db,
  task: { id: string; task_key: string },
  blockers: readonly { id: string; task_key: string }[],
): Promise<string[] | null> {
  const parent = new Map<string, string>(); // node -> the node it was reached from
  const keyOf = new Map<string, string>([[task.id, task.task_key]]);
  let frontier: string[] = [];
  for (const b of blockers) {
    keyOf.set(b.id, b.task_key);
    if (b.id === task.id) return [task.task_key, task.task_key];
    if (!parent.has(b.id)) {
      parent.set(b.id, task.id);
      frontier.push(b.id);
    }
  }
  while (frontier.length > 0) {
    const edges = await trx
      .selectFrom("task_dependencies")
      .innerJoin("tasks", "tasks.id", "task_dependencies.blocker_id")
      .select(["task_dependencies.task_id", "task_dependencies.blocker_id", "tasks.task_key"])
      .where("task_dependencies.task_id", "in", frontier)
      .where("task_dependencies.task_id", "<>", task.id)
      .execute();
    const next: string[] = [];
    for (const edge of edges) {
      keyOf.set(edge.blocker_id, edge.task_key);
      if (edge.blocker_id === task.id) {
        const path = [task.task_key];
        for (let node: string | undefined = edge.task_id; node && node !== task.id; node = parent.get(node)) {
          path.push(keyOf.get(node)!);
        }
        // path is task ← … walked backwards: reverse the middle.
        return [task.task_key, ...path.slice(1).reverse(), task.task_key];
      }
      if (!parent.has(edge.blocker_id)) {
        parent.set(edge.blocker_id, edge.task_id);
        next.push(edge.blocker_id);
      }
    }
    frontier = next;
  }
  return null;
}

/** Replaces the set of tasks `taskId` is blocked by. */
export async function setBlockedBy(trx: Db, taskId: string, blockerIds: readonly string[]): Promise<void> {
  await trx.deleteFrom("task_dependencies").where("task_id", "=", taskId).execute();
  if (blockerIds.length === 0) return;
  await trx
    .insertInto("task_dependencies")
    .values(blockerIds.map((blocker_id, position) => ({ task_id: taskId, blocker_id, position })))
    .execute();
}

/** The keys a task is blocked by (in the given order) and those it blocks (oldest first). */
export async function dependenciesOf(trx: Db, taskId: string): Promise<{ blocked_by: string[]; blocking: string[] }> {
  const blockedBy = await trx
    .selectFrom("task_dependencies")
    .innerJoin("tasks", "tasks.id", "task_dependencies.blocker_id")
    .select("tasks.task_key")
    .where("task_dependencies.task_id", "=", taskId)
    .orderBy("task_dependencies.position")
    .execute();
  const blocking = await trx
    .selectFrom("task_dependencies")
    .innerJoin("tasks", "tasks.id", "task_dependencies.task_id")
    .select("tasks.task_key")
    .where("task_dependencies.blocker_id", "=", taskId)
    .orderBy("tasks.created_at")
    .orderBy("tasks.id")
    .execute();
  return { blocked_by: blockedBy.map((r) => r.task_key), blocking: blocking.map((r) => r.task_key) };
}

/** The tasks a task is blocked by and those it blocks, with their status and title (the task page). */
export async function dependencyDetails(trx: Db, taskId: string) {
  const cols = ["tasks.task_key", "tasks.title", "tasks.status"] as const;
  const blockedBy = await trx
    .selectFrom("task_dependencies")
    .innerJoin("tasks", "tasks.id", "task_dependencies.blocker_id")
    .select(cols)
    .where("task_dependencies.task_id", "=", taskId)
    .orderBy("task_dependencies.position")
    .execute();
  const blocking = await trx
    .selectFrom("task_dependencies")
    .innerJoin("tasks", "tasks.id", "task_dependencies.task_id")
    .select(cols)
    .where("task_dependencies.blocker_id", "=", taskId)
    .orderBy("tasks.created_at")
    .orderBy("tasks.id")
    .execute();
  return { blockedBy, blocking };
}
