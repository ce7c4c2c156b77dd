import { Field } from "./field";

const PRIORITIES = ["none", "highest", "high", "medium", "low", "lowest"] as const;

export interface TaskFieldValues {
  project_key?: string;
  title: string;
  description: string;
  priority: string;
  labels: string;
  acceptance_criteria: string;
  engine: string;
}

function Describe({ id, hint, error }: { id: string; hint?: string; error?: string }) {
  return (
    <>
      {hint ? (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </>
  );
}

function describedBy(id: string, hint: boolean, error: string | undefined): string | undefined {
  return [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(" ") || undefined;
}

/** The task fields shared by the create and edit forms, with inline errors. */
export function TaskFields({
  values,
  errors,
  projects,
}: {
  values: TaskFieldValues;
  errors: Record<string, string | undefined>;
  /** The project choice (create only). */
  projects?: { key: string; name: string }[];
}) {
  return (
    <>
      {projects ? (
        <div>
          <label htmlFor="field-project_key">Project</label>
          <select
            id="field-project_key"
            name="project_key"
            defaultValue={values.project_key ?? ""}
            aria-invalid={errors.project_key ? true : undefined}
            aria-describedby={describedBy("field-project_key", false, errors.project_key)}
          >
            {projects.length !== 1 ? <option value="">Choose a project</option> : null}
            {projects.map((p) => (
              <option key={p.key} value={p.key}>
                {p.key} — {p.name}
              </option>
            ))}
          </select>
          <Describe id="field-project_key" error={errors.project_key} />
        </div>
      ) : null}
      <Field label="Title" name="title" required maxLength={180} defaultValue={values.title} error={errors.title} autoComplete="off" />
      <div>
        <label htmlFor="field-description">Description (Markdown)</label>
        <textarea
          id="field-description"
          name="description"
          rows={8}
          defaultValue={values.description}
          aria-invalid={errors.description ? true : undefined}
          aria-describedby={describedBy("field-description", false, errors.description)}
        />
        <Describe id="field-description" error={errors.description} />
      </div>
      <div className="inline-fields">
        <div>
          <label htmlFor="field-priority">Priority</label>
          <select
            id="field-priority"
            name="priority"
            defaultValue={values.priority || "none"}
            aria-invalid={errors.priority ? true : undefined}
            aria-describedby={describedBy("field-priority", false, errors.priority)}
          >
            {PRIORITIES.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
          <Describe id="field-priority" error={errors.priority} />
        </div>
        <Field
          label="Engine"
          name="engine"
          defaultValue={values.engine}
          error={errors.engine}
          hint="Optional, e.g. claude-code, codex, gemini-cli."
          autoComplete="off"
        />
      </div>
      <Field
        label="Labels"
        name="labels"
        defaultValue={values.labels}
        error={errors.labels}
        hint="Comma-separated, e.g. backend, bug."
        autoComplete="off"
      />
      <div>
        <label htmlFor="field-acceptance_criteria">Acceptance criteria</label>
        <textarea
          id="field-acceptance_criteria"
          name="acceptance_criteria"
          rows={4}
          defaultValue={values.acceptance_criteria}
          aria-invalid={errors.acceptance_criteria ? true : undefined}
          aria-describedby={describedBy("field-acceptance_criteria", true, errors.acceptance_criteria)}
        />
        <Describe id="field-acceptance_criteria" hint="One per line." error={errors.acceptance_criteria} />
      </div>
    </>
  );
}
