// The status column's values come from the schema, the layer below both projects and tasks.
import { TASK_STATUSES, type ProjectRow, type TaskStatus } from "../../../db/schema";
import type { Db } from "../db.server";
import { listProjects } from "./projects.server";

export type StatusCounts = Record<TaskStatus, number>;

export interface ProjectSummary {
  project: ProjectRow;
  counts: StatusCounts;
  total: number;
}

function emptyCounts(): StatusCounts {
  return Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as StatusCounts;
}

/** Every project with its number of tasks per status (one grouped count, by project key). */
export async function projectSummaries(db: Db): Promise<ProjectSummary[]> {
  const projects = await listProjects(db);
  const rows = await db
    .selectFrom("tasks")
    .select(["project_id", "status", (eb) => eb.fn.countAll<number>().as("n")])
    .groupBy(["project_id", "status"])
    .execute();
  const byProject = new Map<string, StatusCounts>();
  for (const row of rows) {
    const counts = byProject.get(row.project_id) ?? emptyCounts();
    if (row.status in counts) counts[row.status as TaskStatus] = Number(row.n);
    byProject.set(row.project_id, counts);
  }
  return projects.map((project) => {
    const counts = byProject.get(project.id) ?? emptyCounts();
    return { project, counts, total: Object.values(counts).reduce((a, b) => a + b, 0) };
  });
}

/** One project's task counts per status. */
export async function projectCounts(db: Db, projectId: string): Promise<StatusCounts> {
  const rows = await db
    .selectFrom("tasks")
    .select(["status", (eb) => eb.fn.countAll<number>().as("n")])
    .where("project_id", "=", projectId)
    .groupBy("status")
    .execute();
  const counts = emptyCounts();
  for (const row of rows) if (row.status in counts) counts[row.status as TaskStatus] = Number(row.n);
  return counts;
}
