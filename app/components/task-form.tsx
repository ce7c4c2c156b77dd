import { Field, SelectField, TextAreaField } from "./field";

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
        <SelectField label="Project" name="project_key" defaultValue={values.project_key ?? ""} error={errors.project_key}>
          {projects.length !== 1 ? <option value="">Choose a project</option> : null}
          {projects.map((p) => (
            <option key={p.key} value={p.key}>
              {p.key} — {p.name}
            </option>
          ))}
        </SelectField>
      ) : null}
      <Field
        label="Title"
        name="title"
        required
        maxLength={180}
        defaultValue={values.title}
        error={errors.title}
        autoComplete="off"
      />
      <TextAreaField
        label="Description (Markdown)"
        name="description"
        rows={8}
        defaultValue={values.description}
        error={errors.description}
      />
      <div className="inline-fields">
        <SelectField label="Priority" name="priority" defaultValue={values.priority || "none"} error={errors.priority}>
          {PRIORITIES.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </SelectField>
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
      <TextAreaField
        label="Acceptance criteria"
        name="acceptance_criteria"
        rows={4}
        defaultValue={values.acceptance_criteria}
        error={errors.acceptance_criteria}
        hint="One per line."
      />
    </>
  );
}
