import { apiJson } from "~/lib/api/errors.server";
import { deferredJsonInput } from "~/lib/api/input.server";
import { ok, PROJECT_KEY } from "~/lib/api/openapi.server";
import { defineApiRoute } from "~/lib/api/route.server";
import { PatchProjectBodySchema } from "~/lib/api/schemas";
import { projectView, requireProject, updateProject } from "~/lib/projects/projects.server";

/** GET: one project by key (any case). PATCH (full scope): name, description, repo_url, settings. */
const route = defineApiRoute("/api/projects/{key}", {
  GET: {
    doc: {
      operationId: "getProject",
      summary: "One project",
      parameters: [PROJECT_KEY],
      responses: { "200": ok("The project", "ProjectResponse") },
      errors: ["NotFound"],
    },
    handler: async ({ context, params }) => {
      const project = await requireProject(context.services.db, params.key ?? "");
      return apiJson({ project: projectView(project) });
    },
  },
  PATCH: {
    doc: {
      operationId: "updateProject",
      summary: "Change a project's name, description, repo_url or settings (project_key is immutable)",
      parameters: [PROJECT_KEY],
      body: "PatchProjectBody",
      responses: { "200": ok("The project", "ProjectResponse") },
      errors: ["NotFound"],
    },
    handler: async ({ request, context, params, auth }) => {
      // Body errors are answered after the lookup: an unknown project is a 404 whatever the body.
      const input = await deferredJsonInput(request, PatchProjectBodySchema);
      const project = await updateProject(context.services, auth.ctx, { key: params.key ?? "", patch: input });
      return apiJson({ project: projectView(project) });
    },
  },
});

export const loader = route.loader;
export const action = route.action;
