import { apiJson } from "~/lib/api/errors.server";
import { readJsonInput } from "~/lib/api/input.server";
import { defineApiRoute } from "~/lib/api/route.server";
import { TaskStatusBodySchema } from "~/lib/api/schemas";
import { etagOf, requireTask, setTaskStatus } from "~/lib/tasks/tasks.server";

/** PATCH (full scope): body exactly {status, engine?}; clears run_state; honours If-Match. */
const route = defineApiRoute({
  PATCH: async ({ request, context, params, auth }) => {
    const id = params.id ?? "";
    await requireTask(context.services.db, id);
    const { data } = await readJsonInput(request, TaskStatusBodySchema);
    const task = await setTaskStatus(context.services.db, auth.audit, id, data, { ifMatch: request.headers.get("if-match") });
    return apiJson({ task }, { headers: { ETag: etagOf(task.version) } });
  },
});

export const loader = route.loader;
export const action = route.action;
