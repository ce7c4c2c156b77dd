import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { FormAlert } from "~/components/form-alert";
import { TaskFields } from "~/components/task-form";
import { CreateTaskBodySchema } from "~/lib/api/schemas";
import { requireOwner } from "~/lib/auth/owner-session.server";
import { fieldErrorsFromZod, formErrorFrom } from "~/lib/http/form-errors.server";
import { readForm, type FieldErrors } from "~/lib/http/forms.server";
import { listProjects } from "~/lib/projects/projects.server";
import { createBodyFrom, taskFormValues, type TaskFormValues } from "~/lib/tasks/task-form";
import { createTask } from "~/lib/tasks/tasks.server";

type ActionData = { values: TaskFormValues; fieldErrors: FieldErrors; formError: string | null };

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireOwner(request, context);
  const projects = (await listProjects(context.services.db)).map((p) => ({ key: p.project_key, name: p.name }));
  const preset = new URL(request.url).searchParams.get("project") ?? "";
  return { projects, preset: projects.some((p) => p.key === preset.toUpperCase()) ? preset.toUpperCase() : "" };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { ctx } = await requireOwner(request, context);
  const form = await readForm(request);
  const values = taskFormValues(form);
  if (!form) {
    return data<ActionData>(
      { values, fieldErrors: {}, formError: "The form could not be read (it may be too large)." },
      { status: 400 },
    );
  }
  const parsed = CreateTaskBodySchema.safeParse(createBodyFrom(values));
  if (!parsed.success) {
    return data<ActionData>(
      { values, fieldErrors: fieldErrorsFromZod(parsed.error), formError: "Check the fields marked below." },
      { status: 400 },
    );
  }
  try {
    const task = await createTask(context.services, ctx, parsed.data);
    throw redirect(`/tasks/${task.task_key}`, 303);
  } catch (error) {
    if (error instanceof Response) throw error;
    const mapped = formErrorFrom(error);
    const fieldErrors = { ...mapped.fieldErrors };
    if (mapped.code === "NOT_FOUND") fieldErrors.project_key ??= mapped.formError;
    return data<ActionData>({ values, fieldErrors, formError: mapped.formError }, { status: mapped.status });
  }
}

export default function NewTask() {
  const { projects, preset } = useLoaderData<typeof loader>();
  const actionData = useActionData<ActionData>();
  const values = actionData?.values ?? {
    project_key: preset || (projects.length === 1 ? projects[0]!.key : ""),
    title: "",
    description: "",
    priority: "none",
    labels: "",
    acceptance_criteria: "",
    engine: "",
  };
  return (
    <main className="narrow-wide">
      <p>
        <Link to="/tasks">← Tasks</Link>
      </p>
      <h1>New task</h1>
      {projects.length === 0 ? (
        <div className="alert warning" role="status">
          There is no project yet. <Link to="/projects">Create a project</Link> first.
        </div>
      ) : null}
      <FormAlert message={actionData?.formError} />
      <Form method="post" noValidate className="card">
        <TaskFields values={values} errors={actionData?.fieldErrors ?? {}} projects={projects} />
        <div className="form-actions">
          <button type="submit">Create task</button>
          <Link to="/tasks">Cancel</Link>
        </div>
      </Form>
    </main>
  );
}

export const meta: MetaFunction = () => [{ title: "New task · PreqStation" }];
