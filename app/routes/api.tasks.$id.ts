import { apiJson } from "~/lib/api/errors.server";
import { readJsonInput } from "~/lib/api/input.server";
import { defineApiRoute } from "~/lib/api/route.server";
import { PatchTaskBodySchema } from "~/lib/api/schemas";
import { deleteTask, etagOf, getTaskView, requireTask, updateTask } from "~/lib/tasks/tasks.server";

/** GET: one task by key or uuid, with its ETag. PATCH and DELETE (full scope) honour If-Match. */
const route = defineApiRoute({
  GET: async ({ context, params }) => {
    const task = await getTaskView(context.services.db, params.id ?? "");
    return apiJson({ task }, { headers: { ETag: etagOf(task.version) } });
  },
  PATCH: async ({ request, context, params, auth }) => {
    const id = params.id ?? "";
    await requireTask(context.services.db, id);
    const { data } = await readJsonInput(request, PatchTaskBodySchema);
    const task = await updateTask(context.services.db, auth.audit, id, data, { ifMatch: request.headers.get("if-match") });
    return apiJson({ task }, { headers: { ETag: etagOf(task.version) } });
  },
  DELETE: async ({ request, context, params, auth }) => {
    await deleteTask(context.services.db, auth.audit, params.id ?? "", { ifMatch: request.headers.get("if-match") });
    return apiJson({ ok: true });
  },
});

export const loader = route.loader;
export const action = route.action;
