import { apiJson } from "~/lib/api/errors.server";
import { etagOf, expectedVersionOf } from "~/lib/api/etag.server";
import { deferredJsonInput } from "~/lib/api/input.server";
import { defineApiRoute } from "~/lib/api/route.server";
import { PatchTaskBodySchema } from "~/lib/api/schemas";
import { deleteTask, getTaskView, updateTask } from "~/lib/tasks/tasks.server";
import { setTaskNote } from "~/lib/tasks/note.server";
import { isNotePatch, type PatchTaskBody, type TaskNoteBody } from "~/lib/tasks/schemas";

/** GET: one task by key or uuid, with its ETag. PATCH and DELETE (full scope) honour If-Match. */
const route = defineApiRoute({
  GET: async ({ context, params }) => {
    const task = await getTaskView(context.services.db, params.id ?? "");
    return apiJson({ task }, { headers: { ETag: etagOf(task.version) } });
  },
  PATCH: async ({ request, context, params, auth }) => {
    // The body is read first (never inside the write transaction); its errors are
    // answered after the task lookup, so an unknown task is a 404 whatever the body.
    const input = await deferredJsonInput(request, PatchTaskBodySchema);
    const expectedVersion = expectedVersionOf(request.headers.get("if-match"));
    // note_markdown / artifacts are a command of their own (task.note; the schema refuses them mixed with other fields).
    const note = noteOf(input);
    const task = note
      ? await setTaskNote(context.services, auth.ctx, { taskId: params.id ?? "", note, expectedVersion })
      : await updateTask(context.services, auth.ctx, { task: params.id ?? "", patch: input, expectedVersion });
    return apiJson({ task }, { headers: { ETag: etagOf(task.version) } });
  },
  DELETE: async ({ request, context, params, auth }) => {
    const expectedVersion = expectedVersionOf(request.headers.get("if-match"));
    await deleteTask(context.services, auth.ctx, { task: params.id ?? "", expectedVersion });
    return apiJson({ ok: true });
  },
});

/** The note's input when a valid PATCH body sets the note or artifacts; null otherwise (an invalid body goes to updateTask, which answers its 400 after the 404). */
function noteOf(input: () => PatchTaskBody): TaskNoteBody | null {
  let body: PatchTaskBody;
  try {
    body = input();
  } catch {
    return null;
  }
  return isNotePatch(body) ? { note_markdown: body.note_markdown, artifacts: body.artifacts } : null;
}

export const loader = route.loader;
export const action = route.action;
