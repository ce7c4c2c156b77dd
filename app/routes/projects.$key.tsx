import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { FormAlert } from "~/components/form-alert";
import { Field } from "~/components/field";
import { ProjectFields } from "~/components/project-form";
import { TaskHistory } from "~/components/task-history";
import { PatchProjectBodySchema } from "~/lib/api/schemas";
import { resourceHistory } from "~/lib/audit/history.server";
import { requireOwner } from "~/lib/http/owner-session.server";
import { fieldErrorsFromZod, formErrorFrom } from "~/lib/http/form-errors.server";
import { readForm, type FieldErrors } from "~/lib/http/forms.server";
import { findProjectByKey, projectSettings, updateProject } from "~/lib/projects/projects.server";
import { projectCounts } from "~/lib/projects/summary.server";
import { TASK_STATUSES } from "~/lib/tasks/lifecycle";

const FIELDS = [
  "name",
  "description",
  "repo_url",
  "deploy_strategy",
  "deploy_default_branch",
  "deploy_auto_pr",
  "deploy_commit_on_review",
  "deploy_squash_merge",
] as const;
type Values = Record<(typeof FIELDS)[number], string>;
type ActionData = { values: Values; fieldErrors: FieldErrors; formError: string };
const BOOL_SETTINGS = [
  { name: "deploy_auto_pr", label: "Open a pull request automatically" },
  { name: "deploy_commit_on_review", label: "Commit when a task is approved" },
  { name: "deploy_squash_merge", label: "Squash when merging" },
] as const;

function valid(key: string | undefined): string {
  return key && /^[A-Za-z0-9]{2,10}$/.test(key) ? key : "";
}

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  await requireOwner(request, context);
  const { db } = context.services;
  const key = valid(params.key);
  const project = key ? await findProjectByKey(db, key) : undefined;
  if (!project) throw new Response("There is no project with this key.", { status: 404 });
  return {
    project: { key: project.project_key, name: project.name, description: project.description, repo_url: project.repo_url ?? "" },
    settings: projectSettings(project),
    counts: await projectCounts(db, project.id),
    history: await resourceHistory(db, "project", project.project_key, 20),
  };
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  const { ctx } = await requireOwner(request, context);
  const key = valid(params.key);
  const form = await readForm(request);
  const values = Object.fromEntries(FIELDS.map((f) => [f, (form?.get(f) ?? "").slice(0, 5_000)])) as Values;
  // An unchecked checkbox sends nothing: it means "false".
  for (const b of BOOL_SETTINGS) values[b.name] = form?.get(b.name) === "true" ? "true" : "false";
  const intent = z.literal("update").safeParse(form?.get("intent"));
  if (!form || !intent.success) {
    return data<ActionData>(
      { values, fieldErrors: {}, formError: "That request could not be understood. Reload the page and try again." },
      { status: 400 },
    );
  }
  const parsed = PatchProjectBodySchema.safeParse({
    name: values.name,
    description: values.description,
    repo_url: values.repo_url.trim() ? values.repo_url : null,
    settings: {
      deploy_strategy: values.deploy_strategy,
      deploy_default_branch: values.deploy_default_branch,
      deploy_auto_pr: values.deploy_auto_pr,
      deploy_commit_on_review: values.deploy_commit_on_review,
      deploy_squash_merge: values.deploy_squash_merge,
    },
  });
  if (!parsed.success) {
    return data<ActionData>(
      { values, fieldErrors: fieldErrorsFromZod(parsed.error), formError: "Check the fields marked below." },
      { status: 400 },
    );
  }
  try {
    await updateProject(context.services, ctx, { key: key || "-", patch: parsed.data });
  } catch (error) {
    const mapped = formErrorFrom(error);
    if (mapped.code === "NOT_FOUND") throw new Response("There is no project with this key.", { status: 404 });
    return data<ActionData>({ values, fieldErrors: mapped.fieldErrors, formError: mapped.formError }, { status: mapped.status });
  }
  throw redirect(`/projects/${key.toUpperCase()}`, 303);
}

export default function ProjectPage() {
  const { project, settings, counts, history } = useLoaderData<typeof loader>();
  const actionData = useActionData<ActionData>();
  const values: Values = actionData?.values ?? { ...project, ...settings };
  const errors = actionData?.fieldErrors ?? {};
  return (
    <main className="wide">
      <p>
        <Link to="/projects">← Projects</Link>
      </p>
      <h1>
        <span className="task-key">{project.key}</span> {project.name}
      </h1>
      <ul className="counts" aria-label="Tasks per status">
        {TASK_STATUSES.map((s) => (
          <li key={s}>
            <Link to={`/tasks?project=${project.key}&status=${s}`}>
              {s}: {counts[s]}
            </Link>
          </li>
        ))}
      </ul>
      <p>
        <Link to={`/tasks?project=${project.key}`}>Board of {project.key}</Link> ·{" "}
        <Link to={`/tasks/new?project=${project.key}`}>New task in {project.key}</Link>
      </p>

      <section className="card narrow-card" aria-labelledby="edit-project-title">
        <h2 id="edit-project-title">Edit project</h2>
        <FormAlert message={actionData?.formError} />
        <Form method="post" noValidate key={actionData ? "answered" : "fresh"}>
          <input type="hidden" name="intent" value="update" />
          <ProjectFields mode="edit" values={values} errors={errors} />
          <fieldset>
            <legend>Deployment</legend>
            <div className="inline-fields">
              <Field
                label="Strategy"
                name="deploy_strategy"
                defaultValue={values.deploy_strategy}
                error={errors.deploy_strategy}
                hint="e.g. direct_commit or pull_request."
                autoComplete="off"
              />
              <Field
                label="Default branch"
                name="deploy_default_branch"
                defaultValue={values.deploy_default_branch}
                error={errors.deploy_default_branch}
                autoComplete="off"
              />
            </div>
            {BOOL_SETTINGS.map((b) => (
              <div key={b.name} className="checkbox">
                <input
                  id={`field-${b.name}`}
                  type="checkbox"
                  name={b.name}
                  value="true"
                  defaultChecked={values[b.name] === "true"}
                />
                <label htmlFor={`field-${b.name}`}>{b.label}</label>
                {errors[b.name] ? <p className="field-error">{errors[b.name]}</p> : null}
              </div>
            ))}
          </fieldset>
          <div className="form-actions">
            <button type="submit">Save project</button>
          </div>
        </Form>
      </section>

      <section aria-labelledby="project-history-title">
        <h2 id="project-history-title">History</h2>
        <TaskHistory entries={history} />
      </section>
    </main>
  );
}

export const meta: MetaFunction<typeof loader> = ({ data: loaded }) => [
  { title: loaded ? `${loaded.project.key} · Projects · PreqStation` : "Project · PreqStation" },
];
