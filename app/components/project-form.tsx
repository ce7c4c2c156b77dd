import { Field, TextAreaField } from "./field";

export interface ProjectFieldValues {
  name: string;
  /** Chosen when the project is created, fixed after. */
  project_key?: string;
  repo_url: string;
  description: string;
}

/**
 * The project fields shared by the create and edit forms, with inline errors. Creating
 * also asks for the key; editing explains that an empty repository URL clears it.
 */
export function ProjectFields({
  mode,
  values,
  errors,
}: {
  mode: "create" | "edit";
  values: Partial<ProjectFieldValues> | undefined;
  errors: Record<string, string | undefined>;
}) {
  return (
    <>
      <Field
        label="Name"
        name="name"
        required
        maxLength={100}
        defaultValue={values?.name}
        error={errors.name}
        autoComplete="off"
      />
      {mode === "create" ? (
        <Field
          label="Project key"
          name="project_key"
          maxLength={10}
          defaultValue={values?.project_key}
          error={errors.project_key}
          hint="2–10 letters or digits, e.g. WEB. Left empty, it is derived from the name."
          autoComplete="off"
        />
      ) : null}
      <Field
        label="Repository URL"
        name="repo_url"
        defaultValue={values?.repo_url}
        error={errors.repo_url}
        hint={mode === "create" ? "Optional: https://github.com/owner/repo, an SSH URL or owner/repo." : "Empty clears it."}
        autoComplete="off"
      />
      <TextAreaField
        label="Description"
        name="description"
        rows={3}
        defaultValue={values?.description}
        error={errors.description}
      />
    </>
  );
}
