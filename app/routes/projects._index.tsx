import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { FormAlert } from "~/components/form-alert";
import { ProjectFields } from "~/components/project-form";
import { CreateProjectBodySchema } from "~/lib/api/schemas";
import { requireOwner } from "~/lib/http/owner-session.server";
import { fieldErrorsFromZod, formErrorFrom } from "~/lib/http/form-errors.server";
import { readForm, type FieldErrors } from "~/lib/http/forms.server";
import { createProject } from "~/lib/projects/projects.server";
import { projectSummaries } from "~/lib/projects/summary.server";
import { TASK_STATUSES } from "~/lib/tasks/lifecycle";

const FIELDS = ["name", "project_key", "repo_url", "description"] as const;
type Values = Record<(typeof FIELDS)[number], string>;
type ActionData = { values: Values; fieldErrors: FieldErrors; formError: string };

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireOwner(request, context);
  const summaries = await projectSummaries(context.services.db);
  return {
    projects: summaries.map((s) => ({
      key: s.project.project_key,
      name: s.project.name,
      repo: s.project.repo_url,
      counts: s.counts,
      total: s.total,
    })),
  };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { ctx } = await requireOwner(request, context);
  const form = await readForm(request);
  const values = Object.fromEntries(FIELDS.map((f) => [f, (form?.get(f) ?? "").slice(0, 5_000)])) as Values;
  const intent = z.literal("create").safeParse(form?.get("intent"));
  if (!form || !intent.success) {
    return data<ActionData>(
      { values, fieldErrors: {}, formError: "That request could not be understood. Reload the page and try again." },
      { status: 400 },
    );
  }
  const parsed = CreateProjectBodySchema.safeParse({
    name: values.name,
    ...(values.project_key.trim() ? { project_key: values.project_key.trim() } : {}),
    ...(values.repo_url.trim() ? { repo_url: values.repo_url } : {}),
    description: values.description,
  });
  if (!parsed.success) {
    return data<ActionData>(
      { values, fieldErrors: fieldErrorsFromZod(parsed.error), formError: "Check the fields marked below." },
      { status: 400 },
    );
  }
  try {
    const project = await createProject(context.services, ctx, parsed.data);
    throw redirect(`/projects/${project.project_key}`, 303);
  } catch (error) {
    if (error instanceof Response) throw error;
    const mapped = formErrorFrom(error);
    const fieldErrors = { ...mapped.fieldErrors };
    if (mapped.code === "CONFLICT") fieldErrors.project_key ??= mapped.formError;
    return data<ActionData>({ values, fieldErrors, formError: mapped.formError }, { status: mapped.status });
  }
}

export default function Projects() {
  const { projects } = useLoaderData<typeof loader>();
  const actionData = useActionData<ActionData>();
  const values = actionData?.values;
  const errors = actionData?.fieldErrors ?? {};
  return (
    <main className="wide">
      <h1>Projects</h1>
      {projects.length === 0 ? (
        <p className="muted">No projects yet: create the first one below.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Name</th>
                <th scope="col">Repository</th>
                {TASK_STATUSES.map((s) => (
                  <th scope="col" key={s} className="num">
                    {s}
                  </th>
                ))}
                <th scope="col" className="num">
                  total
                </th>
              </tr>
            </thead>
            <tbody>
              {projects.map((p) => (
                <tr key={p.key}>
                  <th scope="row">
                    <Link to={`/projects/${p.key}`}>{p.key}</Link>
                  </th>
                  <td>{p.name}</td>
                  <td>{p.repo ?? <span className="muted">—</span>}</td>
                  {TASK_STATUSES.map((s) => (
                    <td key={s} className="num">
                      {p.counts[s] > 0 ? <Link to={`/tasks?project=${p.key}&status=${s}`}>{p.counts[s]}</Link> : 0}
                    </td>
                  ))}
                  <td className="num">
                    <Link to={`/tasks?project=${p.key}`}>{p.total}</Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <section className="card narrow-card" aria-labelledby="new-project-title">
        <h2 id="new-project-title">New project</h2>
        <FormAlert message={actionData?.formError} />
        <Form method="post" noValidate>
          <input type="hidden" name="intent" value="create" />
          <ProjectFields mode="create" values={values} errors={errors} />
          <div className="form-actions">
            <button type="submit">Create project</button>
          </div>
        </Form>
      </section>
    </main>
  );
}

export const meta: MetaFunction = () => [{ title: "Projects · PreqStation" }];
