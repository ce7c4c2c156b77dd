import { apiJson } from "~/lib/api/errors.server";
import { readJsonInput } from "~/lib/api/input.server";
import { ok } from "~/lib/api/openapi.server";
import { defineApiRoute } from "~/lib/api/route.server";
import { CreateProjectBodySchema } from "~/lib/api/schemas";
import { createProject, listProjects, projectView } from "~/lib/projects/projects.server";

/** GET: every project. POST (full scope): a new project; 409 when its key exists. */
const route = defineApiRoute("/api/projects", {
  GET: {
    doc: {
      operationId: "listProjects",
      summary: "Every project",
      responses: { "200": ok("The projects", "ProjectListResponse") },
      errors: [],
    },
    handler: async ({ context }) => {
      const projects = await listProjects(context.services.db);
      return apiJson({ projects: projects.map(projectView) });
    },
  },
  POST: {
    doc: {
      operationId: "createProject",
      summary: "Create a project; a missing project_key is derived from the name",
      body: "CreateProjectBody",
      responses: { "201": ok("Created", "ProjectResponse", { Location: { schema: { type: "string" } } }) },
      errors: ["Conflict"],
    },
    handler: async ({ request, context, auth }) => {
      const { data } = await readJsonInput(request, CreateProjectBodySchema);
      const project = await createProject(context.services, auth.ctx, data);
      return apiJson(
        { project: projectView(project) },
        { status: 201, headers: { Location: `/api/projects/${project.project_key}` } },
      );
    },
  },
});

export const loader = route.loader;
export const action = route.action;
