import { createHash } from "node:crypto";
import { sql } from "kysely";
import { nowIso, type Db } from "../db.server";
import { preparedInsert, preparedQuery } from "../prepared-query.server";

/** The fixed palette a label's color comes from. */
export const LABEL_COLORS = [
  "gray",
  "red",
  "orange",
  "amber",
  "green",
  "teal",
  "cyan",
  "blue",
  "indigo",
  "purple",
  "pink",
  "brown",
] as const;
export type LabelColor = (typeof LABEL_COLORS)[number];

export interface LabelView {
  name: string;
  color: string;
}

/** The case-insensitive identity of a label name. */
export function labelKey(name: string): string {
  return name.trim().normalize("NFC").toLowerCase();
}

/** The color of a label: the same name always gets the same color, whatever its case or project. */
export function labelColor(name: string): LabelColor {
  const digest = createHash("sha256").update(labelKey(name)).digest();
  return LABEL_COLORS[digest.readUInt32BE(0) % LABEL_COLORS.length]!;
}

/** Trims the names and drops case-insensitive duplicates, keeping the first spelling and the order. */
export function dedupeLabelNames(names: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of names) {
    const name = raw.trim().normalize("NFC");
    const key = labelKey(name);
    if (!key || seen.has(key)) continue;
    seen.add(key);
    out.push(name);
  }
  return out;
}

// The statements of creating and relabelling a task, compiled once (app/lib/prepared-query.server.ts).
const projectLabelsByKey = preparedQuery((db, p: { projectId: string; keys: string }) =>
  db
    .selectFrom("labels")
    .select(["id", "name", "name_key", "color"])
    .where("project_id", "=", p.projectId)
    .where("name_key", "in", sql<string>`(select value from json_each(${p.keys}))`),
);
const insertLabel = preparedQuery((db, p: { projectId: string; name: string; key: string; color: string; at: string }) =>
  db
    .insertInto("labels")
    .values({ project_id: p.projectId, name: p.name, name_key: p.key, color: p.color, created_at: p.at })
    .returning("id"),
);
const deleteTaskLabels = preparedQuery((db, p: { taskId: string }) =>
  db.deleteFrom("task_labels").where("task_id", "=", p.taskId),
);
const insertTaskLabel = preparedInsert("task_labels", ["task_id", "label_id", "position"]);

/**
 * The labels of a project for `names`, creating the ones it does not have yet.
 * An existing label keeps its first spelling (`Backend` stays `Backend` when
 * `backend` is asked for). Returns them in the order asked, without duplicates.
 * Call inside the transaction of the change that uses them.
 */
export async function resolveLabels(
  trx: Db,
  projectId: string,
  names: readonly string[],
  now = Date.now(),
): Promise<{ id: number; name: string; color: string }[]> {
  const wanted = dedupeLabelNames(names);
  if (wanted.length === 0) return [];
  const keys = wanted.map(labelKey);
  const existing = await projectLabelsByKey.all(trx, { projectId, keys: JSON.stringify(keys) });
  const byKey = new Map(existing.map((l) => [l.name_key, l]));
  const out: { id: number; name: string; color: string }[] = [];
  for (const name of wanted) {
    const key = labelKey(name);
    let label = byKey.get(key);
    if (!label) {
      const color = labelColor(name);
      const inserted = await insertLabel.first(trx, { projectId, name, key, color, at: nowIso(now) });
      if (!inserted) throw new Error("insert … returning gave no row");
      label = { id: inserted.id, name, name_key: key, color };
      byKey.set(key, label);
    }
    out.push({ id: label.id, name: label.name, color: label.color });
  }
  return out;
}

/** Replaces a task's labels with `labelIds`, in that order. */
export async function setTaskLabels(trx: Db, taskId: string, labelIds: readonly number[]): Promise<void> {
  await deleteTaskLabels.run(trx, { taskId });
  for (const [position, labelId] of labelIds.entries())
    await insertTaskLabel.run(trx, { task_id: taskId, label_id: labelId, position });
}

/** The labels of the tasks whose ids are in the JSON array `ids`: one statement for any number of tasks. */
const labelsOfTaskList = preparedQuery((db, p: { ids: string }) =>
  db
    .selectFrom("task_labels")
    .innerJoin("labels", "labels.id", "task_labels.label_id")
    .select(["task_labels.task_id", "labels.name"])
    .where("task_labels.task_id", "in", sql<string>`(select value from json_each(${p.ids}))`)
    .orderBy("task_labels.task_id")
    .orderBy("task_labels.position"),
);

/** Every project's labels, by name. */
const allLabels = preparedQuery((db) =>
  db.selectFrom("labels").select(["name", "name_key", "color"]).orderBy("name_key").orderBy("id"),
);

/** Label names per task, in each task's order. */
export async function labelsOfTasks(db: Db, taskIds: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(taskIds.map((id) => [id, []]));
  if (taskIds.length === 0) return out;
  const rows = await labelsOfTaskList.all(db, { ids: JSON.stringify(taskIds) });
  for (const row of rows) out.get(row.task_id)?.push(row.name);
  return out;
}

/**
 * The labels of the given projects (all projects when `projectIds` is null), by
 * name; a name used in several projects is listed once.
 */
export async function availableLabels(db: Db, projectIds: readonly string[] | null): Promise<LabelView[]> {
  if (projectIds && projectIds.length === 0) return [];
  const rows = projectIds
    ? await db
        .selectFrom("labels")
        .select(["name", "name_key", "color"])
        .where("project_id", "in", projectIds)
        .orderBy("name_key")
        .orderBy("id")
        .execute()
    : await allLabels.all(db, {});
  const seen = new Set<string>();
  const out: LabelView[] = [];
  for (const row of rows) {
    if (seen.has(row.name_key)) continue;
    seen.add(row.name_key);
    out.push({ name: row.name, color: row.color });
  }
  return out;
}
