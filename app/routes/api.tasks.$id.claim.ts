import { apiJson } from "~/lib/api/errors.server";
import { etagOf } from "~/lib/api/etag.server";
import { deferredInput, readOptionalJsonBody } from "~/lib/api/input.server";
import { ETAG_HEADER, ok, TASK_ID } from "~/lib/api/openapi.server";
import { defineApiRoute } from "~/lib/api/route.server";
import { ClaimBodySchema } from "~/lib/api/schemas";
import { claimTask } from "~/lib/tasks/claims.server";

/** POST (full scope) `{lease_seconds?, engine?}`: start the task with a lease for the caller (contract §11). */
const route = defineApiRoute("/api/tasks/{id}/claim", {
  POST: {
    doc: {
      operationId: "claimTask",
      summary: "Start the task with a lease for the caller; 409 naming the holder while another's lease is live",
      parameters: [TASK_ID],
      body: "ClaimBody",
      bodyOptional: true,
      responses: { "200": ok("The task, claimed", "TaskResponse", ETAG_HEADER) },
      errors: ["NotFound", "Conflict"],
    },
    handler: async ({ request, context, params, auth }) => {
      const input = deferredInput(ClaimBodySchema, await readOptionalJsonBody(request));
      const task = await claimTask(context.services, auth.ctx, { task: params.id ?? "", body: input });
      return apiJson({ task }, { headers: { ETag: etagOf(task.version) } });
    },
  },
});

export const loader = route.loader;
export const action = route.action;
