import { apiJson } from "~/lib/api/errors.server";
import { defineApiRoute } from "~/lib/api/route.server";
import { projectSettings, requireProject } from "~/lib/projects/projects.server";

/** GET: the project's settings, every documented key with its string value or default. */
const route = defineApiRoute({
  GET: async ({ context, params }) => {
    const project = await requireProject(context.services.db, params.key ?? "");
    return apiJson({ settings: projectSettings(project) });
  },
});

export const loader = route.loader;
export const action = route.action;
