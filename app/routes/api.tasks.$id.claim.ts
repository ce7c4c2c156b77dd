import { apiJson } from "~/lib/api/errors.server";
import { etagOf } from "~/lib/api/etag.server";
import { deferredInput, readOptionalJsonBody } from "~/lib/api/input.server";
import { defineApiRoute } from "~/lib/api/route.server";
import { ClaimBodySchema } from "~/lib/api/schemas";
import { claimTask } from "~/lib/tasks/claims.server";

/** POST (full scope) `{lease_seconds?, engine?}`: start the task with a lease for the caller (contract §11). */
const route = defineApiRoute({
  POST: async ({ request, context, params, auth }) => {
    const input = deferredInput(ClaimBodySchema, await readOptionalJsonBody(request));
    const task = await claimTask(context.services, auth.ctx, { task: params.id ?? "", body: input });
    return apiJson({ task }, { headers: { ETag: etagOf(task.version) } });
  },
});

export const loader = route.loader;
export const action = route.action;
