import { apiJson } from "~/lib/api/errors.server";
import { etagOf } from "~/lib/api/etag.server";
import { parseInput, readOptionalJsonBody } from "~/lib/api/input.server";
import { defineApiRoute } from "~/lib/api/route.server";
import { NextTaskBodySchema } from "~/lib/api/schemas";
import { claimNextTask } from "~/lib/tasks/claims.server";

/**
 * POST (full scope) `{project_key?, label?, engine?, lease_seconds?}`: claims the most
 * urgent ready task for the caller → 200 `{task}`, or 204 when none is ready (contract §11).
 */
const route = defineApiRoute({
  POST: async ({ request, context, auth }) => {
    const input = parseInput(NextTaskBodySchema, await readOptionalJsonBody(request));
    const task = await claimNextTask(context.services, auth.ctx, input);
    if (!task) return new Response(null, { status: 204, headers: { "Cache-Control": "no-store" } });
    return apiJson({ task }, { headers: { ETag: etagOf(task.version) } });
  },
});

export const loader = route.loader;
export const action = route.action;
