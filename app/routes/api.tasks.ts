import { apiJson } from "~/lib/api/errors.server";
import { parseInput, queryObject } from "~/lib/api/input.server";
import { ETAG_HEADER, IDEMPOTENCY_KEY, ok, queryParameters } from "~/lib/api/openapi.server";
import { defineApiRoute, idempotentCreate } from "~/lib/api/route.server";
import { CreateTaskBodySchema, ListTasksQuerySchema } from "~/lib/api/schemas";
import { etagOf } from "~/lib/api/etag.server";
import { createTask, listTasks } from "~/lib/tasks/tasks.server";

/** GET: a filtered page of tasks. POST (full scope): a new task, safe to retry with Idempotency-Key. */
const route = defineApiRoute("/api/tasks", {
  GET: {
    doc: {
      operationId: "listTasks",
      summary: "Tasks, newest updated_at first; follow next_cursor to walk every match once",
      parameters: queryParameters(ListTasksQuerySchema),
      responses: { "200": ok("A page of tasks", "TaskListResponse") },
      errors: ["BadRequest"],
    },
    handler: async ({ request, context }) => {
      const query = parseInput(ListTasksQuerySchema, queryObject(new URL(request.url)), "Query");
      return apiJson(await listTasks(context.services.db, query));
    },
  },
  POST: {
    doc: {
      operationId: "createTask",
      summary: "Create a task in a project given by project_key or repo (or the only project)",
      parameters: [IDEMPOTENCY_KEY],
      body: "CreateTaskBody",
      responses: {
        "201": ok("Created (or the first response replayed for an Idempotency-Key)", "TaskResponse", {
          Location: { schema: { type: "string" }, description: "/api/tasks/<task_key>" },
          ...ETAG_HEADER,
        }),
      },
      errors: ["NotFound", "Conflict"],
    },
    handler: idempotentCreate({
      body: CreateTaskBodySchema,
      create: async ({ deps, auth, body }) => {
        const task = await createTask(deps, auth.ctx, body);
        return apiJson(
          { task },
          { status: 201, headers: { Location: `/api/tasks/${task.task_key}`, ETag: etagOf(task.version) } },
        );
      },
    }),
  },
});

export const loader = route.loader;
export const action = route.action;
