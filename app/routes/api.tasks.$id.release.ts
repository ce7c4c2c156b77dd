import { apiJson } from "~/lib/api/errors.server";
import { etagOf } from "~/lib/api/etag.server";
import { parseInput, readOptionalJsonBody } from "~/lib/api/input.server";
import { defineApiRoute } from "~/lib/api/route.server";
import { ReleaseBodySchema } from "~/lib/api/schemas";
import { releaseTask } from "~/lib/tasks/claims.server";

/** POST (full scope), no body (or `{}`): the holder frees the task; 409 for anyone else (contract §11). */
const route = defineApiRoute({
  POST: async ({ request, context, params, auth }) => {
    parseInput(ReleaseBodySchema, await readOptionalJsonBody(request));
    const task = await releaseTask(context.services, auth.ctx, { task: params.id ?? "" });
    return apiJson({ task }, { headers: { ETag: etagOf(task.version) } });
  },
});

export const loader = route.loader;
export const action = route.action;
