import { apiJson } from "~/lib/api/errors.server";
import { etagOf, expectedVersionOf } from "~/lib/api/etag.server";
import { deferredJsonInput } from "~/lib/api/input.server";
import { defineApiRoute } from "~/lib/api/route.server";
import { TaskStatusBodySchema } from "~/lib/api/schemas";
import { setTaskStatus } from "~/lib/tasks/tasks.server";

/** PATCH (full scope): body exactly {status, engine?}; clears run_state; honours If-Match. */
const route = defineApiRoute({
  PATCH: async ({ request, context, params, auth }) => {
    const input = await deferredJsonInput(request, TaskStatusBodySchema);
    const expectedVersion = expectedVersionOf(request.headers.get("if-match"));
    const task = await setTaskStatus(context.services, auth.ctx, { task: params.id ?? "", patch: input, expectedVersion });
    return apiJson({ task }, { headers: { ETag: etagOf(task.version) } });
  },
});

export const loader = route.loader;
export const action = route.action;
