import { apiJson } from "~/lib/api/errors.server";
import { etagOf, expectedVersionOf } from "~/lib/api/etag.server";
import { deferredJsonInput } from "~/lib/api/input.server";
import { ETAG_HEADER, IF_MATCH, ok, TASK_ID } from "~/lib/api/openapi.server";
import { defineApiRoute } from "~/lib/api/route.server";
import { TaskStatusBodySchema } from "~/lib/api/schemas";
import { setTaskStatus } from "~/lib/tasks/tasks.server";

/** PATCH (full scope): body exactly {status, engine?}; clears run_state; honours If-Match. */
const route = defineApiRoute("/api/tasks/{id}/status", {
  PATCH: {
    doc: {
      operationId: "setTaskStatus",
      summary: "Set the status (and optionally the engine); clears run_state",
      parameters: [TASK_ID, IF_MATCH],
      body: "TaskStatusBody",
      responses: { "200": ok("The task", "TaskResponse", ETAG_HEADER) },
      errors: ["NotFound", "PreconditionFailed"],
    },
    handler: async ({ request, context, params, auth }) => {
      const input = await deferredJsonInput(request, TaskStatusBodySchema);
      const expectedVersion = expectedVersionOf(request.headers.get("if-match"));
      const task = await setTaskStatus(context.services, auth.ctx, { task: params.id ?? "", patch: input, expectedVersion });
      return apiJson({ task }, { headers: { ETag: etagOf(task.version) } });
    },
  },
});

export const loader = route.loader;
export const action = route.action;
