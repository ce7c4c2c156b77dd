import { randomUUID } from "node:crypto";
import { sql, type Kysely } from "kysely";
import type { Database, ProjectRow, TaskRow } from "../../../db/schema";
import { runCommand, type CommandDeps, type CommandTx } from "../command/command.server";
import type { ActorContext } from "../domain/context";
import { DomainError } from "../domain/errors";
import { JsonObjectSchema, parseJsonColumn, StringListSchema } from "../domain/json";
import { keysetBeyond, opaqueCursor, splitPage, timestampPart, uuidPart } from "../domain/paging.server";
import { nowIso, type Db } from "../db.server";
import { preparedInsert, preparedQuery } from "../prepared-query.server";
import { availableLabels, labelKey, labelsOfTasks, resolveLabels, setTaskLabels, type LabelView } from "./labels.server";
import { decideLifecycle, type RunState, type TaskStatus } from "./lifecycle";
import { findProjectByKey, findProjectsByRepo, quoted, requireProject } from "../projects/projects.server";
import { repoMatchKey } from "../projects/repo-url";
import {
  isNotePatch,
  TASK_LIMITS,
  type CreateTaskBody,
  type ListTasksQuery,
  type PatchTaskBody,
  type TaskStatusBody,
  type TaskView,
} from "./schemas";
import { dependenciesOf, findCycle, resolveBlockers, setBlockedBy } from "./dependencies.server";
import {
  claimantOf,
  claimChanges,
  claimOf,
  claimRefusal,
  claimRow,
  expireLeases,
  leaseFree,
  NO_CLAIM,
  noOpenBlocker,
} from "./lease.server";
import { noteOf } from "./note";

type Changes = Record<string, { before: unknown; after: unknown }>;
type TaskWithProject = TaskRow & { project_key: string; repo_url: string | null };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TASK_KEY = /^([A-Za-z0-9]{2,10})-([1-9][0-9]{0,8})$/;

// ---------------------------------------------------------------- reading

const criteriaOf = (row: Pick<TaskRow, "acceptance_criteria">) => parseJsonColumn(row.acceptance_criteria, StringListSchema, []);
const resultOf = (row: Pick<TaskRow, "result">) => parseJsonColumn(row.result, JsonObjectSchema, null);

/** A task's dependencies as its view shows them. */
export interface TaskDependencies {
  blocked_by: string[];
  blocking: string[];
}

const NO_DEPENDENCIES: TaskDependencies = { blocked_by: [], blocking: [] };

/**
 * What a client sees of a task: the documented fields, in the documented order. A
 * lease that has run out shows as free (claimed_by null) even before it is swept.
 */
export function taskView(row: TaskWithProject, labels: string[], deps: TaskDependencies = NO_DEPENDENCIES): TaskView {
  return {
    id: row.task_key,
    uuid: row.id,
    task_key: row.task_key,
    project_key: row.project_key,
    title: row.title,
    description: row.description,
    status: row.status,
    priority: row.priority,
    labels,
    acceptance_criteria: criteriaOf(row),
    plan_markdown: row.plan_markdown,
    engine: row.engine,
    branch: row.branch,
    run_state: row.run_state,
    run_state_updated_at: row.run_state_updated_at,
    result: resultOf(row),
    block_reason: row.block_reason,
    ...noteOf(row),
    blocked_by: deps.blocked_by,
    blocking: deps.blocking,
    ...claimOf(row),
    repo: row.repo_url,
    version: row.version,
    created_at: row.created_at,
    updated_at: row.updated_at,
    archived_at: row.archived_at,
  };
}

function selectTasks(db: Kysely<Database>) {
  return db
    .selectFrom("tasks")
    .innerJoin("projects", "projects.id", "tasks.project_id")
    .selectAll("tasks")
    .select(["projects.project_key", "projects.repo_url"]);
}

/** A task's label names in its order, as a JSON array built by SQLite in the same read as the task. */
const LABELS_JSON = sql<string>`(select json_group_array(labels.name order by task_labels.position)
  from task_labels inner join labels on labels.id = task_labels.label_id where task_labels.task_id = tasks.id)`;

/** The keys of the tasks a task is blocked by, in the given order, as a JSON array (same read as the task). */
const BLOCKED_BY_JSON = sql<string>`(select json_group_array(b.task_key order by d.position)
  from task_dependencies d inner join tasks b on b.id = d.blocker_id where d.task_id = tasks.id)`;
/** The keys of the tasks a task blocks, oldest first. */
const BLOCKING_JSON = sql<string>`(select json_group_array(w.task_key order by w.created_at, w.id)
  from task_dependencies d inner join tasks w on w.id = d.task_id where d.blocker_id = tasks.id)`;

/** Tasks with their project's key and repository, labels and dependencies: what a task view is made of. */
function selectTaskViews(db: Kysely<Database>) {
  return selectTasks(db).select([
    LABELS_JSON.as("labels_json"),
    BLOCKED_BY_JSON.as("blocked_by_json"),
    BLOCKING_JSON.as("blocking_json"),
  ]);
}

type TaskViewRow = TaskWithProject & { labels_json: string; blocked_by_json: string; blocking_json: string };

/** The view of a row read with its labels and dependencies (SQLite's json_group_array: always an array of strings). */
function viewOf(row: TaskViewRow): TaskView {
  return taskView(row, JSON.parse(row.labels_json) as string[], {
    blocked_by: JSON.parse(row.blocked_by_json) as string[],
    blocking: JSON.parse(row.blocking_json) as string[],
  });
}

// The lookups every task request makes, compiled once (app/lib/prepared-query.server.ts).
const taskById = preparedQuery((db, p: { id: string }) => selectTasks(db).where("tasks.id", "=", p.id));
const taskByKey = preparedQuery((db, p: { key: string }) => selectTasks(db).where("tasks.task_key", "=", p.key));
const taskViewById = preparedQuery((db, p: { id: string }) => selectTaskViews(db).where("tasks.id", "=", p.id));
const taskViewByKey = preparedQuery((db, p: { key: string }) => selectTaskViews(db).where("tasks.task_key", "=", p.key));

/** A task by key (any case) or uuid; undefined when there is none or `idOrKey` is neither form. */
export async function findTask(db: Db, idOrKey: string): Promise<TaskWithProject | undefined> {
  if (UUID.test(idOrKey)) return taskById.first(db, { id: idOrKey.toLowerCase() });
  if (TASK_KEY.test(idOrKey)) return taskByKey.first(db, { key: idOrKey.toUpperCase() });
  return undefined;
}

function notFound(idOrKey: string): DomainError {
  return new DomainError("NOT_FOUND", `Task ${quoted(idOrKey)} not found`);
}

export async function requireTask(db: Db, idOrKey: string): Promise<TaskWithProject> {
  const task = await findTask(db, idOrKey);
  if (!task) throw notFound(idOrKey);
  return task;
}

/** A task's view by key (any case) or uuid, task and labels in one read; NOT_FOUND when there is none. */
export async function getTaskView(db: Db, idOrKey: string): Promise<TaskView> {
  let row: TaskViewRow | undefined;
  if (UUID.test(idOrKey)) row = await taskViewById.first(db, { id: idOrKey.toLowerCase() });
  else if (TASK_KEY.test(idOrKey)) row = await taskViewByKey.first(db, { key: idOrKey.toUpperCase() });
  if (!row) throw notFound(idOrKey);
  return viewOf(row);
}

/**
 * The task is not at a version the caller expected (the API sends If-Match): a
 * PRECONDITION_FAILED that carries the current version, which the API answers as
 * the task's current ETag.
 */
export class TaskVersionMismatch extends DomainError {
  constructor(
    readonly taskKey: string,
    readonly currentVersion: number,
  ) {
    super("PRECONDITION_FAILED", `Task ${taskKey} is at version ${currentVersion}, not the version expected`);
  }
}

/**
 * What a change may require of the task's version: undefined for nothing, else the
 * versions it may be at (none: it can never match, as with an If-Match of only weak tags).
 */
export type ExpectedVersion = number | readonly number[] | undefined;

function checkVersion(expected: ExpectedVersion, task: TaskRow): void {
  if (expected === undefined) return;
  const versions: readonly number[] = typeof expected === "number" ? [expected] : expected;
  if (!versions.includes(task.version)) throw new TaskVersionMismatch(task.task_key, task.version);
}

/** The input of a change, or a function that yields it (or throws the caller's own input error) once the task is known to exist. */
export type DeferredInput<T> = T | (() => T);

function resolveInput<T extends object>(input: DeferredInput<T>): T {
  return typeof input === "function" ? (input as () => T)() : input;
}

// ---------------------------------------------------------------- listing

export interface TaskPage {
  tasks: TaskView[];
  next_cursor: string | null;
  available_labels: LabelView[];
}

/** `%`, `_` and the escape character itself, escaped for `LIKE … ESCAPE '\'`. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The position of a page boundary: the (updated_at, id) of the last task of the page before. */
export interface CursorPosition {
  updatedAt: string;
  id: string;
}

/** The API's opaque list cursor: base64url of `{"v":1,"u":<updated_at>,"i":<id>}` (app/lib/domain/paging.server.ts). */
const TASK_CURSOR = opaqueCursor(["u", "i"], timestampPart, uuidPart);

export function encodeCursor(position: CursorPosition): string {
  return TASK_CURSOR.encode([position.updatedAt, position.id]);
}

/** The position in `cursor`, or null when it is not a cursor this server issued. */
export function decodeCursor(cursor: string): CursorPosition | null {
  const key = TASK_CURSOR.decode(cursor);
  return key && { updatedAt: key[0], id: key[1] };
}

/**
 * The page query: filters, the cursor's position, the keyset order
 * (updated_at desc, id desc) and `limit + 1` rows (one more tells whether a next
 * page exists). Each equality filter has an index that also yields this order,
 * so no query sorts all matching rows.
 */
export function taskListQuery(db: Db, query: ListTasksQuery, scope: { projectId?: string; position: CursorPosition | null }) {
  return buildTaskListQuery(db, query, scope, query.limit + 1);
}

function buildTaskListQuery(
  db: Kysely<Database>,
  query: Omit<ListTasksQuery, "limit">,
  scope: { projectId?: string; position: CursorPosition | null },
  rows: number,
) {
  let q = selectTaskViews(db);
  if (scope.projectId !== undefined) q = q.where("tasks.project_id", "=", scope.projectId);
  if (query.status !== undefined) q = q.where("tasks.status", "=", query.status);
  if (query.priority !== undefined) q = q.where("tasks.priority", "=", query.priority);
  if (query.engine !== undefined) q = q.where("tasks.engine", "=", query.engine);
  if (query.run_state !== undefined) {
    q = q.where("tasks.run_state", "=", query.run_state === "queued" ? "queued" : "working");
  }
  if (query.label !== undefined) {
    const key = labelKey(query.label);
    q = q.where((eb) =>
      eb.exists(
        eb
          .selectFrom("task_labels")
          .innerJoin("labels", "labels.id", "task_labels.label_id")
          .select("task_labels.task_id")
          .whereRef("task_labels.task_id", "=", "tasks.id")
          .where("labels.name_key", "=", key),
      ),
    );
  }
  if (query.ready === "true") {
    const at = nowIso();
    q = q.where("tasks.status", "=", "todo").where(leaseFree(at)).where(noOpenBlocker());
  } else if (query.ready === "false") {
    const at = nowIso();
    q = q.where((eb) => eb.not(eb.and([eb("tasks.status", "=", "todo"), leaseFree(at), noOpenBlocker()])));
  }
  if (query.q !== undefined) {
    q = q.where(sql<boolean>`tasks.title like ${`%${escapeLike(query.q)}%`} escape '\\'`);
  }
  if (query.updated_since !== undefined) {
    q = q.where("tasks.updated_at", ">=", new Date(query.updated_since).toISOString());
  }
  const position = scope.position;
  if (position) q = q.where(keysetBeyond(["tasks.updated_at", "tasks.id"], "<", [position.updatedAt, position.id]));
  return q.orderBy("tasks.updated_at", "desc").orderBy("tasks.id", "desc").limit(rows);
}

type ListArgs = { status: TaskStatus; projectId: string; updatedAt: string; id: string; rows: number };

/**
 * The page queries of the common shapes — the whole list and the board's columns (a
 * status, a project, both), each with and without a cursor — compiled once from the same
 * builder; the list's other filters are built per request.
 */
const PREPARED_LISTS = new Map(
  [false, true].flatMap((status) =>
    [false, true].flatMap((project) =>
      [false, true].map((cursor) => [
        `${status}/${project}/${cursor}`,
        preparedQuery((db, p: ListArgs) =>
          buildTaskListQuery(
            db,
            status ? { status: p.status } : {},
            { projectId: project ? p.projectId : undefined, position: cursor ? { updatedAt: p.updatedAt, id: p.id } : null },
            p.rows,
          ),
        ),
      ]),
    ),
  ),
);

/** The page's rows: a prepared query when the filters are of a common shape, else one built for them. */
async function listPageRows(
  db: Db,
  query: ListTasksQuery,
  scope: { projectId?: string; position: CursorPosition | null },
): Promise<TaskViewRow[]> {
  const { status, project_key: _projectKey, limit, cursor: _cursor, ...others } = query;
  if (Object.values(others).every((v) => v === undefined)) {
    const prepared = PREPARED_LISTS.get(`${status !== undefined}/${scope.projectId !== undefined}/${scope.position !== null}`)!;
    // A shape reads only the arguments it binds (the others are placeholders it never reads).
    return prepared.all(db, {
      status: status ?? "inbox",
      projectId: scope.projectId ?? "",
      updatedAt: scope.position?.updatedAt ?? "",
      id: scope.position?.id ?? "",
      rows: limit + 1,
    });
  }
  return taskListQuery(db, query, scope).execute();
}

/** One page, newest `updated_at` first (ties by id), after the cursor's position. */
export async function listTasks(db: Db, query: ListTasksQuery): Promise<TaskPage> {
  const position = query.cursor === undefined ? null : decodeCursor(query.cursor);
  if (query.cursor !== undefined && !position) {
    throw new DomainError("VALIDATION_ERROR", "cursor is not a cursor this server issued", [
      { path: "cursor", message: "Invalid cursor; use next_cursor from a previous page" },
    ]);
  }
  let projectId: string | undefined;
  if (query.project_key !== undefined) {
    const project = await findProjectByKey(db, query.project_key);
    if (!project) return { tasks: [], next_cursor: null, available_labels: [] };
    projectId = project.id;
  }
  const { page, more } = splitPage(await listPageRows(db, query, { projectId, position }), query.limit);
  const last = page.at(-1);
  return {
    tasks: page.map(viewOf),
    next_cursor: more && last ? encodeCursor({ updatedAt: last.updated_at, id: last.id }) : null,
    available_labels: await availableLabels(db, projectId === undefined ? null : [projectId]),
  };
}

// ---------------------------------------------------------------- creating

/** The project a new task goes to: by key, by repository URL, or the only project there is. */
async function projectForNewTask(trx: Db, input: CreateTaskBody): Promise<ProjectRow> {
  if (input.project_key !== undefined) {
    const project = await requireProject(trx, input.project_key);
    if (input.repo !== undefined && repoMatchKey(input.repo) !== project.repo_key) {
      throw new DomainError("VALIDATION_ERROR", `repo does not match project ${project.project_key}'s repo_url`, [
        { path: "repo", message: `Does not match project ${project.project_key}'s repo_url` },
      ]);
    }
    return project;
  }
  if (input.repo !== undefined) {
    if (repoMatchKey(input.repo) === null) {
      throw new DomainError("VALIDATION_ERROR", "repo is not a repository URL", [
        { path: "repo", message: "Not a repository URL; use https://github.com/owner/repo, an SSH URL or owner/repo" },
      ]);
    }
    const projects = await findProjectsByRepo(trx, input.repo);
    if (projects.length === 0) throw new DomainError("NOT_FOUND", `No project has the repository ${quoted(input.repo)}`);
    if (projects.length > 1) {
      const keys = projects.map((p) => p.project_key).join(", ");
      throw new DomainError("VALIDATION_ERROR", `Several projects (${keys}) use this repository; give project_key`, [
        { path: "project_key", message: `Required: several projects (${keys}) use this repository` },
      ]);
    }
    return projects[0]!;
  }
  const projects = await trx.selectFrom("projects").selectAll().orderBy("project_key").limit(2).execute();
  if (projects.length === 1) return projects[0]!;
  const message =
    projects.length === 0
      ? "No project exists yet; create one with POST /api/projects"
      : "Several projects exist; give project_key or repo";
  throw new DomainError("VALIDATION_ERROR", `project_key is required: ${message}`, [{ path: "project_key", message }]);
}

/** Takes the project's next task number. */
const bumpTaskNumber = preparedQuery((db, p: { projectId: string }) =>
  db
    .updateTable("projects")
    .set((eb) => ({ next_task_number: eb("next_task_number", "+", 1) }))
    .where("id", "=", p.projectId)
    .returning("next_task_number"),
);

const insertTask = preparedInsert(
  "tasks",
  Object.keys({
    id: 1,
    task_key: 1,
    project_id: 1,
    number: 1,
    title: 1,
    description: 1,
    status: 1,
    priority: 1,
    acceptance_criteria: 1,
    plan_markdown: 1,
    engine: 1,
    branch: 1,
    run_state: 1,
    run_state_updated_at: 1,
    result: 1,
    block_reason: 1,
    version: 1,
    created_at: 1,
    updated_at: 1,
    archived_at: 1,
    claimed_by_type: 1,
    claimed_by_id: 1,
    claimed_by_name: 1,
    lease_expires_at: 1,
    note_markdown: 1,
    artifacts: 1,
  } satisfies Record<keyof TaskRow, 1>) as (keyof TaskRow)[],
);

/**
 * Creates a task, its key from the project's counter, its labels and its audit
 * entry, in one BEGIN IMMEDIATE transaction: keys are sequential per project,
 * distinct under concurrency and never reused.
 */
export async function createTask(
  deps: CommandDeps,
  ctx: ActorContext,
  input: CreateTaskBody,
  now = Date.now(),
): Promise<TaskView> {
  return runCommand(deps, ctx, async (tx) => {
    const trx = tx.db;
    const project = await projectForNewTask(trx, input);
    const counter = await bumpTaskNumber.first(trx, { projectId: project.id });
    if (!counter) throw new Error(`project ${project.id} vanished inside its transaction`);
    const number = counter.next_task_number - 1;
    const at = nowIso(now);
    const status: TaskStatus = input.status ?? "inbox";
    const row: TaskRow = {
      id: randomUUID(),
      task_key: `${project.project_key}-${number}`,
      project_id: project.id,
      number,
      title: input.title,
      description: input.description ?? "",
      status,
      priority: input.priority ?? "none",
      acceptance_criteria: JSON.stringify(input.acceptance_criteria ?? []),
      plan_markdown: null,
      engine: input.engine ?? null,
      branch: input.branch ? input.branch : null,
      run_state: null,
      run_state_updated_at: null,
      result: null,
      block_reason: null,
      version: 1,
      created_at: at,
      updated_at: at,
      archived_at: status === "archived" ? at : null,
      ...NO_CLAIM,
      note_markdown: "",
      artifacts: "[]",
    };
    const blockers = input.blocked_by === undefined ? [] : await resolveBlockers(trx, input.blocked_by, null);
    await insertTask.run(trx, row);
    await setBlockedBy(
      trx,
      row.id,
      blockers.map((b) => b.id),
    );
    const labels = await resolveLabels(trx, project.id, input.labels ?? [], now);
    await setTaskLabels(
      trx,
      row.id,
      labels.map((l) => l.id),
    );
    const view = taskView(
      { ...row, project_key: project.project_key, repo_url: project.repo_url },
      labels.map((l) => l.name),
      { blocked_by: blockers.map((b) => b.task_key), blocking: [] },
    );
    const changes: Changes = {};
    for (const field of [
      "title",
      "description",
      "status",
      "priority",
      "labels",
      "acceptance_criteria",
      "engine",
      "branch",
    ] as const) {
      changes[field] = { before: null, after: view[field] };
    }
    if (blockers.length > 0) changes.blocked_by = { before: null, after: view.blocked_by };
    await tx.audit({ action: "task.create", resourceType: "task", resourceId: row.task_key, changes }, { now });
    return view;
  });
}

// ---------------------------------------------------------------- changing

interface Draft {
  set: Partial<TaskRow>;
  changes: Changes;
}

function change<K extends keyof TaskRow>(draft: Draft, task: TaskRow, field: K, after: TaskRow[K], shown: string = field): void {
  if (task[field] === after) return;
  draft.set[field] = after;
  draft.changes[shown] = { before: task[field], after };
}

/**
 * Applies a new status and run state with their timestamps: archived_at and
 * run_state_updated_at; leaving hold clears block_reason.
 */
function moveTo(draft: Draft, task: TaskRow, status: TaskStatus, runState: RunState | null, at: string): void {
  change(draft, task, "status", status);
  if (status !== "hold") change(draft, task, "block_reason", null);
  if (status === "archived" && task.status !== "archived") change(draft, task, "archived_at", at);
  if (status !== "archived" && task.status === "archived") change(draft, task, "archived_at", null);
  if (runState !== task.run_state) {
    change(draft, task, "run_state", runState);
    change(draft, task, "run_state_updated_at", at);
  }
}

/** Ends the task's claim (complete, block, review, a status change): the holder's lease is gone. */
function endClaim(draft: Draft, task: TaskRow, at: string): void {
  if (task.claimed_by_id === null) return;
  Object.assign(draft.set, NO_CLAIM);
  const before = claimOf(task, at);
  if (before.claimed_by !== null) {
    draft.changes.claimed_by = { before: before.claimed_by, after: null };
    draft.changes.lease_expires_at = { before: before.lease_expires_at, after: null };
  }
}

/** A start's claim: who takes the lease and for how long. */
interface ClaimRequest {
  claimant: ReturnType<typeof claimantOf>;
  leaseSeconds: number;
}

/**
 * Writes a draft (version +1, updated_at) and its one audit entry; returns the task as
 * it is now. With a claim, the draft is written by the claim's one conditional UPDATE
 * (and refused, with the reason, when the lease is another's or a blocker is open).
 */
async function commitDraft(
  tx: CommandTx,
  task: TaskWithProject,
  draft: Draft,
  action: "task.update" | "task.status",
  labelsAfter: string[] | null,
  now: number,
  claim: ClaimRequest | null = null,
): Promise<TaskView> {
  const trx = tx.db;
  let after: TaskRow;
  let act: "task.update" | "task.status" | "task.claim" | "task.dependencies" = action;
  if (claim) {
    const { run_state: _r, run_state_updated_at: _u, ...set } = draft.set;
    const row = await claimRow(trx, task.id, claim.claimant, claim.leaseSeconds, now, set);
    if (!row) throw await claimRefusal(trx, task, claim.claimant, now);
    Object.assign(draft.changes, claimChanges(task, row, nowIso(now)));
    after = row;
    act = "task.claim";
  } else {
    const changed = Object.keys(draft.changes).length > 0 || Object.keys(draft.set).length > 0;
    if (changed) {
      draft.set.version = task.version + 1;
      draft.set.updated_at = nowIso(now);
      await trx.updateTable("tasks").set(draft.set).where("id", "=", task.id).execute();
    }
    after = { ...task, ...draft.set };
    const keys = Object.keys(draft.changes);
    if (keys.length === 1 && keys[0] === "blocked_by") act = "task.dependencies";
  }
  await tx.audit({ action: act, resourceType: "task", resourceId: task.task_key, changes: draft.changes }, { now });
  const labels = labelsAfter ?? (await labelsOfTasks(trx, [task.id])).get(task.id) ?? [];
  return taskView({ ...task, ...after }, labels, await dependenciesOf(trx, task.id));
}

/**
 * Replaces the set of tasks `task` is blocked by: the keys must name other tasks that
 * exist (VALIDATION_ERROR) and may not close a cycle (CONFLICT naming it).
 */
async function replaceBlockers(trx: Db, draft: Draft, task: TaskRow, keys: readonly string[]): Promise<void> {
  const blockers = await resolveBlockers(trx, keys, task);
  const cycle = await findCycle(trx, task, blockers);
  if (cycle) throw new DomainError("CONFLICT", `blocked_by would make a cycle: ${cycle.join(" → ")}`);
  const before = (await dependenciesOf(trx, task.id)).blocked_by;
  const after = blockers.map((b) => b.task_key);
  if (JSON.stringify(before) === JSON.stringify(after)) return;
  await setBlockedBy(
    trx,
    task.id,
    blockers.map((b) => b.id),
  );
  draft.changes.blocked_by = { before, after };
}

/** What a change of one task names: the task (key or id), the change, and the version(s) it must be at. */
export interface TaskChange<T> {
  task: string;
  /** The change, or a function that parses it (called after the task is found: not found comes first). */
  patch: DeferredInput<T>;
  /** The version(s) the task must be at (TaskVersionMismatch otherwise); undefined: no precondition. */
  expectedVersion?: ExpectedVersion;
}

/**
 * Field changes, a plain status change (clears run_state) or a lifecycle action
 * (per the decision table; CONFLICT when not allowed). Version +1 when anything
 * changed; one audit entry; all in one transaction, which reads the task once:
 * not found, then the input (when deferred), then the expected version.
 *
 * `start` claims the task for the caller (contract §11) with a lease of
 * `lease_seconds`: one conditional UPDATE, refused while another caller's lease is
 * live or a blocker is open. A lease that already ran out is expired first (its
 * `task.lease_expired` entry, actor system). Complete, block, review and a status
 * change end the claim.
 */
export async function updateTask(
  deps: CommandDeps,
  ctx: ActorContext,
  request: TaskChange<PatchTaskBody>,
  now = Date.now(),
): Promise<TaskView> {
  return runCommand(deps, ctx, async (tx) => {
    const trx = tx.db;
    let task = await requireTask(trx, request.task);
    const input = resolveInput(request.patch);
    // The note is its own command (note.server.ts setTaskNote, audit task.note): never dropped here in silence.
    if (isNotePatch(input))
      throw new DomainError("VALIDATION_ERROR", "note_markdown and artifacts are set by the task note command");
    checkVersion(request.expectedVersion, task);
    const at = nowIso(now);
    const draft: Draft = { set: {}, changes: {} };
    let claim: ClaimRequest | null = null;

    if (input.lifecycle_action !== undefined) {
      const decision = decideLifecycle(input.lifecycle_action, task.status);
      if (!decision.ok) throw new DomainError("CONFLICT", decision.message);
      if (input.lifecycle_action === "start") {
        claim = { claimant: claimantOf(ctx.actor), leaseSeconds: input.lease_seconds ?? TASK_LIMITS.leaseSecondsDefault };
        // Lazily, on access: a lease that ran out is expired (and recorded) before anyone claims the task.
        const freed = await expireLeases(tx, now, task.id);
        if (freed.length > 0) task = await requireTask(trx, task.id);
      } else {
        moveTo(draft, task, decision.status, decision.runState, at);
        if (input.lifecycle_action !== "plan") endClaim(draft, task, at);
      }
      // A block (re)states why: its reason, or none.
      if (input.lifecycle_action === "block") change(draft, task, "block_reason", input.reason ? input.reason : null);
    } else if (input.status !== undefined) {
      moveTo(draft, task, input.status, null, at);
      endClaim(draft, task, at);
    }
    if (input.title !== undefined) change(draft, task, "title", input.title);
    if (input.description !== undefined) change(draft, task, "description", input.description);
    if (input.plan_markdown !== undefined) change(draft, task, "plan_markdown", input.plan_markdown, "plan_markdown");
    if (input.priority !== undefined) change(draft, task, "priority", input.priority);
    if (input.engine !== undefined) change(draft, task, "engine", input.engine);
    if (input.branch !== undefined) change(draft, task, "branch", input.branch ? input.branch : null);
    if (input.acceptance_criteria !== undefined) {
      const after = JSON.stringify(input.acceptance_criteria);
      if (after !== task.acceptance_criteria) {
        draft.set.acceptance_criteria = after;
        draft.changes.acceptance_criteria = { before: criteriaOf(task), after: input.acceptance_criteria };
      }
    }
    if (input.result !== undefined) {
      const after = input.result === null ? null : JSON.stringify(input.result);
      if (after !== task.result) {
        draft.set.result = after;
        draft.changes.result = { before: resultOf(task), after: input.result };
      }
    }
    if (input.blocked_by !== undefined) await replaceBlockers(trx, draft, task, input.blocked_by);
    let labelsAfter: string[] | null = null;
    if (input.labels !== undefined) {
      const before = (await labelsOfTasks(trx, [task.id])).get(task.id) ?? [];
      const labels = await resolveLabels(trx, task.project_id, input.labels, now);
      labelsAfter = labels.map((l) => l.name);
      if (JSON.stringify(before) !== JSON.stringify(labelsAfter)) {
        await setTaskLabels(
          trx,
          task.id,
          labels.map((l) => l.id),
        );
        draft.changes.labels = { before, after: labelsAfter };
      }
    }
    return commitDraft(tx, task, draft, "task.update", labelsAfter, now, claim);
  });
}

/**
 * Puts a task on hold (the lifecycle's block: from inbox, todo, hold or ready), with
 * its reason as block_reason, plus any other fields of the input, in updateTask's one
 * transaction: not found, then the input, then the expected version (a page's form
 * sends the version it showed; a stale one is a TaskVersionMismatch and changes
 * nothing), then the lifecycle rule. The page's Block, the API's lifecycle_action
 * block and the MCP block tool all come here, so nothing reads the task in one
 * transaction and writes it back in another.
 */
export async function blockTask(
  deps: CommandDeps,
  ctx: ActorContext,
  input: TaskChange<PatchTaskBody>,
  now = Date.now(),
): Promise<TaskView> {
  return updateTask(
    deps,
    ctx,
    { ...input, patch: () => ({ ...resolveInput(input.patch), lifecycle_action: "block" as const }) },
    now,
  );
}

/** A plain status change (and optionally the engine); clears run_state and ends the claim. Same order of checks as updateTask. */
export async function setTaskStatus(
  deps: CommandDeps,
  ctx: ActorContext,
  statusChange: TaskChange<TaskStatusBody>,
  now = Date.now(),
): Promise<TaskView> {
  return runCommand(deps, ctx, async (tx) => {
    const task = await requireTask(tx.db, statusChange.task);
    const input = resolveInput(statusChange.patch);
    checkVersion(statusChange.expectedVersion, task);
    const draft: Draft = { set: {}, changes: {} };
    moveTo(draft, task, input.status, null, nowIso(now));
    endClaim(draft, task, nowIso(now));
    if (input.engine !== undefined) change(draft, task, "engine", input.engine);
    return commitDraft(tx, task, draft, "task.status", null, now);
  });
}

/** Deletes a task (its key is never given out again; its claim and dependencies go with it) with its audit entry. */
export async function deleteTask(
  deps: CommandDeps,
  ctx: ActorContext,
  input: { task: string; expectedVersion?: ExpectedVersion },
  now = Date.now(),
): Promise<void> {
  await runCommand(deps, ctx, async (tx) => {
    const task = await requireTask(tx.db, input.task);
    checkVersion(input.expectedVersion, task);
    await tx.db.deleteFrom("tasks").where("id", "=", task.id).execute();
    await tx.audit(
      {
        action: "task.delete",
        resourceType: "task",
        resourceId: task.task_key,
        changes: { title: { before: task.title, after: null }, status: { before: task.status, after: null } },
      },
      { now },
    );
  });
}
