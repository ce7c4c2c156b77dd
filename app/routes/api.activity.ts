import { apiJson } from "~/lib/api/errors.server";
import { parseInput, queryObject } from "~/lib/api/input.server";
import { defineApiRoute } from "~/lib/api/route.server";
import { ActivityQuerySchema } from "~/lib/api/schemas";
import { listActivity } from "~/lib/comments/activity.server";

/** GET `?from&to&project_key&limit&cursor`: a project's activity, newest first, keyset-paged (contract §10). */
const route = defineApiRoute({
  GET: async ({ request, context }) => {
    const query = parseInput(ActivityQuerySchema, queryObject(new URL(request.url)), "Query");
    return apiJson(await listActivity(context.services.db, query));
  },
});

export const loader = route.loader;
export const action = route.action;
