import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { FilterField } from "~/components/filter-field";
import { useLiveUpdates } from "~/components/live-updates";
import { queryString } from "~/components/pager";
import { Age, ClaimBadge, LabelChips, PriorityBadge, RunBadge, TaskCard } from "~/components/task-bits";
import { ListTasksQuerySchema } from "~/lib/api/schemas";
import { requireOwner } from "~/lib/http/owner-session.server";
import { fieldErrorsFromZod, formErrorFrom } from "~/lib/http/form-errors.server";
import type { FieldErrors } from "~/lib/http/forms.server";
import { listProjects } from "~/lib/projects/projects.server";
import { loadBoard, loadTaskListPage, type BoardFilters } from "~/lib/tasks/board.server";
import { TASK_STATUSES } from "~/lib/tasks/lifecycle";

/**
 * The board's GET filters, validated by the task list's own schema (the API's
 * `GET /api/tasks` query): `project` is its `project_key`. Empty fields mean "any".
 */
const BoardQuerySchema = z.object({
  project: ListTasksQuerySchema.shape.project_key,
  label: ListTasksQuerySchema.shape.label,
  engine: ListTasksQuerySchema.shape.engine,
  q: ListTasksQuerySchema.shape.q,
  status: ListTasksQuerySchema.shape.status,
  view: z.enum(["board", "list"], { message: "Choose board or list" }).optional(),
  cursor: ListTasksQuerySchema.shape.cursor,
});

const BOARD_PARAMS = ["project", "label", "engine", "q", "status", "view", "cursor"] as const;
type BoardParam = (typeof BOARD_PARAMS)[number];

/** The raw values of the filter form (first of each name, empty ones dropped, at most 500 characters shown back). */
function rawBoardParams(search: URLSearchParams): Partial<Record<BoardParam, string>> {
  const out: Partial<Record<BoardParam, string>> = {};
  for (const name of BOARD_PARAMS) {
    const value = search.get(name);
    if (value !== null && value.trim() !== "") out[name] = value.slice(0, 500);
  }
  return out;
}

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireOwner(request, context);
  const { db } = context.services;
  const now = Date.now();
  const raw = rawBoardParams(new URL(request.url).searchParams);
  const projects = (await listProjects(db)).map((p) => ({ key: p.project_key, name: p.name }));
  const parsed = BoardQuerySchema.safeParse(raw);
  const view = raw.view === "list" ? "list" : "board";
  const base = { raw, projects, now, view } as const;
  if (!parsed.success) {
    return { ...base, errors: fieldErrorsFromZod(parsed.error), board: null, list: null };
  }
  const { project, cursor, ...rest } = parsed.data;
  const filters: BoardFilters = { ...rest, project_key: project };
  if (view === "list") {
    try {
      const page = await loadTaskListPage(db, filters, cursor);
      return { ...base, errors: {} as FieldErrors, board: null, list: page };
    } catch (error) {
      const mapped = formErrorFrom(error);
      return {
        ...base,
        errors: { cursor: mapped.fieldErrors.cursor ?? mapped.formError } as FieldErrors,
        board: null,
        list: null,
      };
    }
  }
  return { ...base, errors: {} as FieldErrors, board: await loadBoard(db, filters), list: null };
}

export default function TaskBoard() {
  const { raw, projects, now, view, errors, board, list } = useLoaderData<typeof loader>();
  useLiveUpdates();
  const filterValues = { project: raw.project, label: raw.label, engine: raw.engine, q: raw.q, status: raw.status };
  const errorEntries = Object.entries(errors as Record<string, string>);
  return (
    <main className="wide">
      <div className="page-head">
        <h1>Tasks</h1>
        <Link to="/tasks/new" className="button">
          New task
        </Link>
      </div>

      <Form method="get" className="filters card" aria-label="Filter tasks">
        <div className="inline-fields">
          <FilterField label="Project" name="project" error={errors.project}>
            {(props) => (
              <select {...props} defaultValue={raw.project?.toUpperCase() ?? ""}>
                <option value="">All projects</option>
                {projects.map((p) => (
                  <option key={p.key} value={p.key}>
                    {p.key} — {p.name}
                  </option>
                ))}
              </select>
            )}
          </FilterField>
          <FilterField label="Label" name="label" error={errors.label}>
            {(props) => <input {...props} type="text" defaultValue={raw.label ?? ""} />}
          </FilterField>
          <FilterField label="Engine" name="engine" error={errors.engine}>
            {(props) => <input {...props} type="text" defaultValue={raw.engine ?? ""} placeholder="e.g. claude-code" />}
          </FilterField>
          <FilterField label="Title contains" name="q" error={errors.q}>
            {(props) => <input {...props} type="search" defaultValue={raw.q ?? ""} />}
          </FilterField>
          <FilterField label="Status" name="status" error={errors.status}>
            {(props) => (
              <select {...props} defaultValue={raw.status ?? ""}>
                <option value="">Every column</option>
                {TASK_STATUSES.map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </select>
            )}
          </FilterField>
          <FilterField label="View" name="view" error={errors.view}>
            {(props) => (
              <select {...props} defaultValue={view}>
                <option value="board">Board</option>
                <option value="list">List</option>
              </select>
            )}
          </FilterField>
        </div>
        <div className="form-actions">
          <button type="submit">Apply filters</button>
          <Link to="/tasks">Clear</Link>
        </div>
      </Form>

      {errorEntries.length > 0 ? (
        <div className="alert error" role="alert">
          Some filters are not valid: {errorEntries.map(([k, m]) => `${k}: ${m}`).join("; ")}
        </div>
      ) : null}

      {board ? (
        <div className="board">
          {board.columns.map((column) => (
            <section key={column.status} className="board-column" aria-labelledby={`column-${column.status}`}>
              <h2 id={`column-${column.status}`}>
                {column.status} <span className="count">({column.more ? `${column.tasks.length}+` : column.tasks.length})</span>
              </h2>
              {column.tasks.length === 0 ? <p className="muted">No tasks.</p> : null}
              {column.tasks.map((task) => (
                <TaskCard key={task.uuid} task={task} colors={board.labelColors} now={now} />
              ))}
              {column.more ? (
                <Link to={`/tasks${queryString({ ...filterValues, status: column.status, view: "list" })}`}>
                  {`All ${column.status} tasks`}
                </Link>
              ) : null}
            </section>
          ))}
        </div>
      ) : null}

      {list ? (
        <section aria-labelledby="list-title">
          <h2 id="list-title">Task list</h2>
          {list.tasks.length === 0 ? (
            <p className="muted">No tasks match.</p>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Key</th>
                    <th scope="col">Title</th>
                    <th scope="col">Status</th>
                    <th scope="col">Priority</th>
                    <th scope="col">Labels</th>
                    <th scope="col">Engine</th>
                    <th scope="col">Updated</th>
                  </tr>
                </thead>
                <tbody>
                  {list.tasks.map((task) => (
                    <tr key={task.uuid}>
                      <th scope="row">
                        <Link to={`/tasks/${task.task_key}`}>{task.task_key}</Link>
                      </th>
                      <td>
                        {task.title} <RunBadge runState={task.run_state} /> <ClaimBadge claimedBy={task.claimed_by} />
                      </td>
                      <td>{task.status}</td>
                      <td>
                        <PriorityBadge priority={task.priority} />
                      </td>
                      <td>
                        <LabelChips labels={task.labels} colors={list.labelColors} />
                      </td>
                      <td>{task.engine ?? <span className="muted">—</span>}</td>
                      <td>
                        <Age iso={task.updated_at} now={now} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <nav className="pager" aria-label="Task list pages">
            {raw.cursor ? <Link to={`/tasks${queryString({ ...filterValues, view: "list" })}`}>First page</Link> : null}
            {list.next_cursor ? (
              <Link to={`/tasks${queryString({ ...filterValues, view: "list", cursor: list.next_cursor })}`} rel="next">
                Next page
              </Link>
            ) : null}
          </nav>
        </section>
      ) : null}
    </main>
  );
}

export const meta: MetaFunction = () => [{ title: "Tasks · PreqStation" }];
