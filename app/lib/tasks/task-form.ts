/**
 * The task form of the owner's pages (`/tasks/new`, `/tasks/<KEY>`): its raw values,
 * and the API's request body built from them. Validation is the API's own zod schemas
 * (CreateTaskBodySchema, PatchTaskBodySchema), applied by the route.
 */
export const TASK_FORM_FIELDS = [
  "project_key",
  "title",
  "description",
  "priority",
  "labels",
  "acceptance_criteria",
  "engine",
] as const;
export type TaskFormValues = Record<(typeof TASK_FORM_FIELDS)[number], string>;

/** Longest value echoed back into a form after an error (the schemas refuse longer ones anyway). */
const ECHO_MAX = 60_000;

export function taskFormValues(form: URLSearchParams | null): TaskFormValues {
  const out = {} as TaskFormValues;
  for (const name of TASK_FORM_FIELDS) out[name] = (form?.get(name) ?? "").slice(0, ECHO_MAX);
  return out;
}

/** `a, b ,c` → `["a", "b", "c"]` (empty entries dropped). */
export function splitLabels(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** One criterion per line (blank lines dropped; CRLF or LF). */
export function splitLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The body the API's create schema validates: empty optional fields are left out. */
export function createBodyFrom(values: TaskFormValues): Record<string, unknown> {
  const body: Record<string, unknown> = {
    title: values.title,
    description: values.description,
    labels: splitLabels(values.labels),
    acceptance_criteria: splitLines(values.acceptance_criteria),
  };
  if (values.project_key.trim()) body.project_key = values.project_key.trim();
  if (values.priority) body.priority = values.priority;
  if (values.engine.trim()) body.engine = values.engine;
  return body;
}

/** The body the API's PATCH schema validates: every field of the form (an empty engine clears it). */
export function patchBodyFrom(values: TaskFormValues): Record<string, unknown> {
  return {
    title: values.title,
    description: values.description,
    priority: values.priority || "none",
    labels: splitLabels(values.labels),
    acceptance_criteria: splitLines(values.acceptance_criteria),
    engine: values.engine.trim() ? values.engine : null,
  };
}
