/**
 * The coordination commands of contract §11 beyond `start` (which is updateTask's
 * lifecycle action): claim, heartbeat, release, the owner's release of a stuck claim,
 * `next`, and the sweep of expired leases. Each owns its transaction and its one
 * audit entry; every claim or renewal is one conditional UPDATE (lease.server.ts).
 */
import { sql, type SqlBool } from "kysely";
import type { TaskRow } from "../../../db/schema";
import { runCommand, type CommandDeps } from "../command/command.server";
import { nowIso } from "../db.server";
import type { ActorContext } from "../domain/context";
import { DomainError } from "../domain/errors";
import { findProjectByKey } from "../projects/projects.server";
import { labelKey } from "./labels.server";
import {
  claimantOf,
  claimChanges,
  claimOf,
  expireLeases,
  holderText,
  leaseFree,
  NO_CLAIM,
  noOpenBlocker,
  systemContext,
  type Claimant,
} from "./lease.server";
import { TASK_LIMITS, type ClaimBody, type HeartbeatBody, type NextTaskBody, type TaskView } from "./schemas";
import { getTaskView, requireTask, updateTask, type DeferredInput } from "./tasks.server";

/** `POST /api/tasks/:id/claim`: the same as `start` (lifecycle_action), with its lease and engine. */
export async function claimTask(
  deps: CommandDeps,
  ctx: ActorContext,
  input: { task: string; body: DeferredInput<ClaimBody> },
  now = Date.now(),
): Promise<TaskView> {
  const { body } = input;
  return updateTask(
    deps,
    ctx,
    {
      task: input.task,
      patch: () => {
        const claim = typeof body === "function" ? body() : body;
        return { lifecycle_action: "start" as const, ...claim, plan_markdown: undefined };
      },
    },
    now,
  );
}

/** Why `claimant` may not renew or release `task`: it is free, or another's, or the caller's lease ran out. */
function notHolder(task: TaskRow, claimant: Claimant, at: string, verb: string): DomainError {
  const live = claimOf(task, at).claimed_by !== null;
  if (live)
    return new DomainError(
      "CONFLICT",
      `Cannot ${verb} task ${task.task_key}: it is claimed by ${holderText(task)} until ${task.lease_expires_at}`,
    );
  if (task.claimed_by_type === claimant.type && task.claimed_by_id === claimant.id && task.lease_expires_at !== null) {
    return new DomainError(
      "CONFLICT",
      `Cannot ${verb} task ${task.task_key}: your lease expired at ${task.lease_expires_at}; start it again`,
    );
  }
  return new DomainError("CONFLICT", `Cannot ${verb} task ${task.task_key}: it is not claimed`);
}

/**
 * Renews the caller's lease for `lease_seconds` from now: one conditional UPDATE that
 * only the holder of a live lease passes. CONFLICT for anyone else (and on a free task).
 */
export async function heartbeatTask(
  deps: CommandDeps,
  ctx: ActorContext,
  request: { task: string; body: DeferredInput<HeartbeatBody> },
  now = Date.now(),
): Promise<TaskView> {
  return runCommand(deps, ctx, async (tx) => {
    const trx = tx.db;
    const task = await requireTask(trx, request.task);
    const input = typeof request.body === "function" ? request.body() : request.body;
    const claimant = claimantOf(ctx.actor);
    const at = nowIso(now);
    const leaseSeconds = input.lease_seconds ?? TASK_LIMITS.leaseSecondsDefault;
    const row = await trx
      .updateTable("tasks")
      .set({ lease_expires_at: nowIso(now + leaseSeconds * 1000), version: sql<number>`version + 1`, updated_at: at })
      .where("id", "=", task.id)
      .where("claimed_by_type", "=", claimant.type)
      .where("claimed_by_id", "=", claimant.id)
      .where("lease_expires_at", ">", at)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw notHolder(task, claimant, at, "heartbeat");
    await tx.audit(
      { action: "task.claim", resourceType: "task", resourceId: task.task_key, changes: claimChanges(task, row, at) },
      { now },
    );
    return getTaskView(trx, task.id);
  });
}

/**
 * Frees the task: claim gone, run_state back to null. By the holder of the live lease
 * (`force` false: CONFLICT for anyone else), or by the owner freeing a stuck claim
 * (`force`: any claim, CONFLICT only when there is none).
 */
export async function releaseTask(
  deps: CommandDeps,
  ctx: ActorContext,
  options: { task: string; force?: boolean },
  now = Date.now(),
): Promise<TaskView> {
  return runCommand(deps, ctx, async (tx) => {
    const trx = tx.db;
    const task = await requireTask(trx, options.task);
    const at = nowIso(now);
    let release = trx
      .updateTable("tasks")
      .set({ ...NO_CLAIM, run_state: null, run_state_updated_at: at, version: sql<number>`version + 1`, updated_at: at })
      .where("id", "=", task.id)
      .where("claimed_by_id", "is not", null);
    let claimant: Claimant | null = null;
    if (!options.force) {
      claimant = claimantOf(ctx.actor);
      release = release
        .where("claimed_by_type", "=", claimant.type)
        .where("claimed_by_id", "=", claimant.id)
        .where("lease_expires_at", ">", at);
    }
    const row = await release.returningAll().executeTakeFirst();
    if (!row) {
      if (claimant) throw notHolder(task, claimant, at, "release");
      throw new DomainError("CONFLICT", `Cannot release task ${task.task_key}: it is not claimed`);
    }
    const changes = claimChanges(task, row, at);
    if (!changes.claimed_by && task.claimed_by_name !== null) {
      // An expired lease freed by the owner before the sweeper: still say whose it was.
      changes.claimed_by = { before: { type: task.claimed_by_type, name: task.claimed_by_name }, after: null };
    }
    await tx.audit({ action: "task.release", resourceType: "task", resourceId: task.task_key, changes }, { now });
    return getTaskView(trx, task.id);
  });
}

/** `?` priority's rank: highest first, none last. Plain CASE, as PostgreSQL runs it. */
const PRIORITY_RANK = sql<number>`case t.priority when 'highest' then 0 when 'high' then 1 when 'medium' then 2
  when 'low' then 3 when 'lowest' then 4 else 5 end`;

/**
 * `POST /api/tasks/next`: claims the most urgent ready task (todo, no open blocker, no
 * live lease; priority highest → none, then oldest) matching the filters for the
 * caller, or returns null. The claim is ONE conditional UPDATE whose WHERE picks the
 * task and re-checks that it is still free, so two callers never get the same task.
 * `engine` takes tasks for that engine or for none, and records it on the task.
 */
export async function claimNextTask(
  deps: CommandDeps,
  ctx: ActorContext,
  input: NextTaskBody,
  now = Date.now(),
): Promise<TaskView | null> {
  const claimant = claimantOf(ctx.actor);
  return runCommand(deps, ctx, async (tx) => {
    const trx = tx.db;
    let projectId: string | undefined;
    if (input.project_key !== undefined) {
      const project = await findProjectByKey(trx, input.project_key);
      if (!project) return null;
      projectId = project.id;
    }
    // Leases that ran out are freed (and recorded) first, so their tasks are candidates.
    await expireLeases(tx, now);
    const at = nowIso(now);
    const leaseSeconds = input.lease_seconds ?? TASK_LIMITS.leaseSecondsDefault;
    const label = input.label === undefined ? null : labelKey(input.label);
    // The task to take: the most urgent ready one that matches. It is chosen inside the
    // UPDATE, which re-checks that it is still free: one statement. (PostgreSQL: the
    // subquery also takes `for update skip locked`, so concurrent callers pick distinct rows.)
    let pick = trx
      .selectFrom("tasks as t")
      .select("t.id")
      .where("t.status", "=", "todo")
      .where(sql<SqlBool>`(t.claimed_by_id is null or t.lease_expires_at <= ${at})`)
      .where(
        sql<SqlBool>`not exists (select 1 from task_dependencies d inner join tasks b on b.id = d.blocker_id
          where d.task_id = t.id and b.status not in ('done', 'archived'))`,
      );
    if (projectId !== undefined) pick = pick.where("t.project_id", "=", projectId);
    if (input.engine !== undefined) {
      const engine = input.engine;
      pick = pick.where((eb) => eb.or([eb("t.engine", "is", null), eb("t.engine", "=", engine)]));
    }
    if (label !== null) {
      pick = pick.where(
        sql<SqlBool>`exists (select 1 from task_labels tl inner join labels l on l.id = tl.label_id
          where tl.task_id = t.id and l.name_key = ${label})`,
      );
    }
    const row = await trx
      .updateTable("tasks")
      .set({
        claimed_by_type: claimant.type,
        claimed_by_id: claimant.id,
        claimed_by_name: claimant.name,
        lease_expires_at: nowIso(now + leaseSeconds * 1000),
        run_state: "working",
        run_state_updated_at: at,
        ...(input.engine !== undefined ? { engine: input.engine } : {}),
        version: sql<number>`version + 1`,
        updated_at: at,
      })
      .where("id", "=", pick.orderBy(PRIORITY_RANK).orderBy("t.created_at").orderBy("t.id").limit(1))
      .where("status", "=", "todo")
      .where(leaseFree(at))
      .where(noOpenBlocker())
      .returningAll()
      .executeTakeFirst();
    if (!row) return null;
    await tx.audit(
      {
        action: "task.claim",
        resourceType: "task",
        resourceId: row.task_key,
        changes: claimChanges({ ...row, ...NO_CLAIM, run_state: null }, row, at),
      },
      { now },
    );
    return getTaskView(trx, row.id);
  });
}

/** Frees every lease that has run out (the sweeper's pass, acting as the system); returns the keys freed. */
export async function sweepExpiredLeases(deps: CommandDeps, now = Date.now()): Promise<string[]> {
  return runCommand(deps, systemContext(`sweep-${now}`), (tx) => expireLeases(tx, now));
}
