import { apiJson } from "~/lib/api/errors.server";
import { ok, PROJECT_KEY } from "~/lib/api/openapi.server";
import { defineApiRoute } from "~/lib/api/route.server";
import { projectSettings, requireProject } from "~/lib/projects/projects.server";

/** GET: the project's settings, every documented key with its string value or default. */
const route = defineApiRoute("/api/projects/{key}/settings", {
  GET: {
    doc: {
      operationId: "getProjectSettings",
      summary: "A project's settings (string values; defaults filled in)",
      parameters: [PROJECT_KEY],
      responses: { "200": ok("The settings", "SettingsResponse") },
      errors: ["NotFound"],
    },
    handler: async ({ context, params }) => {
      const project = await requireProject(context.services.db, params.key ?? "");
      return apiJson({ settings: projectSettings(project) });
    },
  },
});

export const loader = route.loader;
export const action = route.action;
