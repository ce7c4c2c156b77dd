import type { Db } from "../db.server";
import { labelColor, type LabelView } from "./labels.server";
import type { TaskStatus } from "./lifecycle";
import { listTasks } from "./tasks.server";

/** The board's columns, in order; archived tasks show only when asked for with `status=archived`. */
export const BOARD_COLUMNS = ["inbox", "todo", "hold", "ready", "done"] as const satisfies readonly TaskStatus[];

/** Cards per column: the newest by `updated_at`; the rest are a click away in the list view. */
export const CARDS_PER_COLUMN = 50;

// The task list's own types (the API's list query and task view), taken from listTasks.
type ListQuery = Parameters<typeof listTasks>[1];
type TaskView = Awaited<ReturnType<typeof listTasks>>["tasks"][number];

/** What the board filters by (the GET form's fields), already validated. */
export type BoardFilters = Pick<ListQuery, "project_key" | "label" | "engine" | "q" | "status">;

/** What a card (or a list row) shows of a task: only these fields go to the page. */
export type TaskCardView = Pick<
  TaskView,
  "uuid" | "task_key" | "title" | "status" | "priority" | "labels" | "engine" | "run_state" | "updated_at" | "claimed_by"
>;

export function cardView(task: TaskView): TaskCardView {
  const { uuid, task_key, title, status, priority, labels, engine, run_state, updated_at, claimed_by } = task;
  return { uuid, task_key, title, status, priority, labels, engine, run_state, updated_at, claimed_by };
}

export interface BoardColumn {
  status: TaskStatus;
  tasks: TaskCardView[];
  /** True when the column has more tasks than it shows. */
  more: boolean;
}

export interface Board {
  columns: BoardColumn[];
  /** Every label name's color (by lower-case name), for the cards' label chips. */
  labelColors: Record<string, string>;
}

/**
 * The board: one column per status (or only the asked-for one), each the first
 * page of the task list (`listTasks`, the API's keyset-paged query) for that status.
 */
export async function loadBoard(db: Db, filters: BoardFilters): Promise<Board> {
  const statuses: readonly TaskStatus[] = filters.status ? [filters.status] : BOARD_COLUMNS;
  const columns: BoardColumn[] = [];
  let labels: LabelView[] = [];
  for (const status of statuses) {
    const page = await listTasks(db, { ...filters, status, limit: CARDS_PER_COLUMN });
    columns.push({ status, tasks: page.tasks.map(cardView), more: page.next_cursor !== null });
    labels = page.available_labels;
  }
  return {
    columns,
    labelColors: colorsOf(
      labels,
      columns.flatMap((c) => c.tasks),
    ),
  };
}

/** One page of the list view: the API's task list with the board's filters and a cursor. */
export async function loadTaskListPage(db: Db, filters: BoardFilters, cursor: string | undefined, limit = CARDS_PER_COLUMN) {
  const page = await listTasks(db, { ...filters, cursor, limit });
  const tasks = page.tasks.map(cardView);
  return { tasks, next_cursor: page.next_cursor, labelColors: colorsOf(page.available_labels, tasks) };
}

function colorsOf(labels: readonly LabelView[], tasks: readonly Pick<TaskView, "labels">[]): Record<string, string> {
  const colors: Record<string, string> = {};
  for (const label of labels) colors[label.name.toLowerCase()] = label.color;
  for (const task of tasks) for (const name of task.labels) colors[name.toLowerCase()] ??= labelColor(name);
  return colors;
}
