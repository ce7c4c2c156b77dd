import { z } from "zod";
import { ListTasksQuerySchema } from "../api/schemas";

/**
 * The board's GET filters, validated by the task list's own schema (the API's
 * `GET /api/tasks` query): `project` is its `project_key`. Empty fields mean "any".
 */
export const BoardQuerySchema = z.object({
  project: ListTasksQuerySchema.shape.project_key,
  label: ListTasksQuerySchema.shape.label,
  engine: ListTasksQuerySchema.shape.engine,
  q: ListTasksQuerySchema.shape.q,
  status: ListTasksQuerySchema.shape.status,
  view: z.enum(["board", "list"], { message: "Choose board or list" }).optional(),
  cursor: ListTasksQuerySchema.shape.cursor,
});

export const BOARD_PARAMS = ["project", "label", "engine", "q", "status", "view", "cursor"] as const;
export type BoardParam = (typeof BOARD_PARAMS)[number];

/** The raw values of the filter form (first of each name, empty ones dropped, at most 500 characters shown back). */
export function rawBoardParams(search: URLSearchParams): Partial<Record<BoardParam, string>> {
  const out: Partial<Record<BoardParam, string>> = {};
  for (const name of BOARD_PARAMS) {
    const value = search.get(name);
    if (value !== null && value.trim() !== "") out[name] = value.slice(0, 500);
  }
  return out;
}
