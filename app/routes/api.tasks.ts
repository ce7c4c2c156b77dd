import { apiJson } from "~/lib/api/errors.server";
import { parseInput, queryObject } from "~/lib/api/input.server";
import { defineApiRoute, idempotentCreate } from "~/lib/api/route.server";
import { CreateTaskBodySchema, ListTasksQuerySchema } from "~/lib/api/schemas";
import { etagOf } from "~/lib/api/etag.server";
import { createTask, listTasks } from "~/lib/tasks/tasks.server";

/** GET: a filtered page of tasks. POST (full scope): a new task, safe to retry with Idempotency-Key. */
const route = defineApiRoute({
  GET: async ({ request, context }) => {
    const query = parseInput(ListTasksQuerySchema, queryObject(new URL(request.url)), "Query");
    return apiJson(await listTasks(context.services.db, query));
  },
  POST: idempotentCreate({
    body: CreateTaskBodySchema,
    create: async ({ deps, auth, body }) => {
      const task = await createTask(deps, auth.ctx, body);
      return apiJson({ task }, { status: 201, headers: { Location: `/api/tasks/${task.task_key}`, ETag: etagOf(task.version) } });
    },
  }),
});

export const loader = route.loader;
export const action = route.action;
