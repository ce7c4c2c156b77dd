import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useLocation } from "@remix-run/react";
import { useState } from "react";
import { z } from "zod";
import { FormAlert } from "~/components/form-alert";
import { useLiveUpdates } from "~/components/live-updates";
import { MarkdownText, safeUrl } from "~/components/markdown";
import { Age, LabelChips, PriorityBadge, RunBadge } from "~/components/task-bits";
import { TaskFields, type TaskFieldValues } from "~/components/task-form";
import { EntryChanges, TaskHistory, actorText } from "~/components/task-history";
import { UtcTime } from "~/components/utc-time";
import { PatchTaskBodySchema, TaskStatusBodySchema, type TaskView } from "~/lib/api/schemas";
import { changesSince, resourceHistory, taskHistory, type HistoryEntry } from "~/lib/audit/history.server";
import { requireOwner } from "~/lib/auth/owner-session.server";
import { fieldErrorsFromZod, formErrorFrom } from "~/lib/http/form-errors.server";
import { readForm, type FieldErrors } from "~/lib/http/forms.server";
import { labelColor } from "~/lib/tasks/labels.server";
import { BLOCK_REASON_MAX, TASK_STATUSES } from "~/lib/tasks/lifecycle";
import { patchBodyFrom, taskFormValues, type TaskFormValues } from "~/lib/tasks/task-form";
import { blockTask, deleteTask, findTask, getTaskView, setTaskStatus, updateTask } from "~/lib/tasks/tasks.server";
import { releaseTask } from "~/lib/tasks/claims.server";
import { dependencyDetails } from "~/lib/tasks/dependencies.server";
import { TaskCoordination } from "~/components/task-coordination";
import { TaskComments } from "~/components/task-comments";
import { TaskNote } from "~/components/task-note";
import { listComments } from "~/lib/comments/comments.server";
import { commentFormAction } from "~/lib/http/comment-form.server";

const INTENTS = ["update", "status", "review", "block", "delete", "release"] as const;
type Intent = (typeof INTENTS)[number];
const IntentSchema = z.enum(INTENTS);
const VersionSchema = z.coerce
  .number({ message: "Reload the page: the form has no version" })
  .int()
  .min(1)
  .max(2 ** 31);

type ActionData = {
  intent: Intent | null;
  formError: string | null;
  fieldErrors: FieldErrors;
  /** The update form's values, kept after an error. */
  values?: TaskFormValues;
  /** The block form's reason, kept after an error. */
  reason?: string;
  /** A stale update or block: the version the task has now and what changed since the form's version. */
  conflict?: { version: number; changes: HistoryEntry[] };
  /** Distinguishes one answer from the next, so the edit form re-mounts with its values. */
  answer: string;
};

function notFound(): never {
  throw new Response("There is no task with this key.", { status: 404 });
}

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  await requireOwner(request, context);
  const { db } = context.services;
  const row = await findTask(db, params.key ?? "");
  if (!row) notFound();
  const task = await getTaskView(db, row.task_key);
  const history = await taskHistory(db, task.task_key);
  const comments = await listComments(db, row.task_key);
  const colors = Object.fromEntries(task.labels.map((name) => [name.toLowerCase(), labelColor(name)]));
  const confirmDelete = new URL(request.url).searchParams.get("confirm") === "delete";
  const dependencies = await dependencyDetails(db, row.id);
  return { task, history, comments, colors, confirmDelete, dependencies, now: Date.now() };
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  const { ctx } = await requireOwner(request, context);
  const { services } = context;
  const { db } = services;
  const key = params.key ?? "";
  const form = await readForm(request);
  // The owner's comment (contract §10): its own command and inline answer (app/lib/http/comment-form.server.ts).
  if (form?.get("intent") === "comment") return commentFormAction(context.services, ctx, key, form);
  const answer = crypto.randomUUID();
  const intent = IntentSchema.safeParse(form?.get("intent"));
  if (!form || !intent.success) {
    return data<ActionData>(
      {
        intent: null,
        formError: "That request could not be understood. Reload the page and try again.",
        fieldErrors: {},
        answer,
      },
      { status: 400 },
    );
  }
  const values = intent.data === "update" ? taskFormValues(form) : undefined;
  const reason = intent.data === "block" ? (form.get("reason") ?? "").trim() : undefined;
  const fail = (status: number, formError: string, fieldErrors: FieldErrors = {}, extra: Partial<ActionData> = {}) =>
    data<ActionData>({ intent: intent.data, formError, fieldErrors, values, reason, answer, ...extra }, { status });

  try {
    switch (intent.data) {
      case "update": {
        const version = VersionSchema.safeParse(form.get("version"));
        if (!version.success)
          return fail(400, "The form has no valid version; reload the page.", { version: version.error.issues[0]!.message });
        const parsed = PatchTaskBodySchema.safeParse(patchBodyFrom(values!));
        if (!parsed.success) return fail(400, "Check the fields marked below.", fieldErrorsFromZod(parsed.error));
        try {
          await updateTask(services, ctx, { task: key, patch: parsed.data, expectedVersion: version.data });
        } catch (error) {
          const mapped = formErrorFrom(error);
          if (mapped.code !== "PRECONDITION_FAILED") throw error;
          const current = await findTask(db, key);
          if (!current) notFound();
          const history = await resourceHistory(db, "task", current.task_key);
          return fail(
            409,
            `This task changed since you opened the form (version ${version.data}, now ${current.version}). Nothing was saved. Your edits are kept below: check what changed, then save again.`,
            {},
            { conflict: { version: current.version, changes: changesSince(history, version.data, current.version) } },
          );
        }
        break;
      }
      case "status": {
        const parsed = TaskStatusBodySchema.safeParse({ status: form.get("status") ?? undefined });
        if (!parsed.success) return fail(400, "Choose a status from the list.", fieldErrorsFromZod(parsed.error));
        await setTaskStatus(services, ctx, { task: key, patch: parsed.data });
        break;
      }
      case "review": {
        const parsed = PatchTaskBodySchema.safeParse({ lifecycle_action: "review" });
        if (!parsed.success) return fail(400, "That request could not be understood.");
        await updateTask(services, ctx, { task: key, patch: parsed.data });
        break;
      }
      case "block": {
        // One versioned command: the form carries the version the page showed, and a task
        // that moved on since (an agent's result, say) is a conflict, never overwritten.
        const rawVersion = form.get("version");
        const version = rawVersion === null ? null : VersionSchema.safeParse(rawVersion);
        if (version && !version.success) return fail(400, "The form has no valid version; reload the page.");
        const parsed = PatchTaskBodySchema.safeParse({ lifecycle_action: "block", ...(reason ? { reason } : {}) });
        if (!parsed.success) return fail(400, "Check the reason.", fieldErrorsFromZod(parsed.error));
        try {
          await blockTask(services, ctx, { task: key, patch: parsed.data, expectedVersion: version?.data });
        } catch (error) {
          if (formErrorFrom(error).code !== "PRECONDITION_FAILED" || !version) throw error;
          const current = await findTask(db, key);
          if (!current) notFound();
          const history = await resourceHistory(db, "task", current.task_key);
          return fail(
            409,
            `This task changed since the page was loaded (version ${version.data}, now ${current.version}). It was not blocked. Check what changed, then block it again.`,
            {},
            { conflict: { version: current.version, changes: changesSince(history, version.data, current.version) } },
          );
        }
        break;
      }
      case "release":
        // The owner frees a stuck claim: whoever holds it (audited as task.release).
        await releaseTask(services, ctx, { task: key, force: true });
        break;
      case "delete":
        await deleteTask(services, ctx, { task: key });
        throw redirect("/tasks", 303);
    }
  } catch (error) {
    if (error instanceof Response) throw error;
    const mapped = formErrorFrom(error);
    if (mapped.code === "NOT_FOUND") notFound();
    return fail(mapped.status, mapped.formError, mapped.fieldErrors);
  }
  const task = await findTask(db, key);
  throw redirect(`/tasks/${task?.task_key ?? key}`, 303);
}

function formValuesOf(task: TaskView): TaskFieldValues {
  return {
    title: task.title,
    description: task.description,
    priority: task.priority,
    labels: task.labels.join(", "),
    acceptance_criteria: task.acceptance_criteria.join("\n"),
    engine: task.engine ?? "",
  };
}

export default function TaskPage() {
  const { task, history, comments, colors, confirmDelete, dependencies, now } = useLoaderData<typeof loader>();
  const actionData = useActionData<ActionData>();
  const location = useLocation();
  useLiveUpdates();
  const errorFor = (intent: Intent) => (actionData?.intent === intent ? actionData : undefined);
  const topError =
    actionData && actionData.intent !== "update" && actionData.intent !== "block" && actionData.intent !== "release"
      ? actionData.formError
      : null;

  return (
    <main className="wide task-page">
      <p>
        <Link to="/tasks">← Tasks</Link>
      </p>
      <h1>
        <span className="task-key">{task.task_key}</span> {task.title}
      </h1>
      <p className="task-badges">
        <span className={`badge status-${task.status}`}>{task.status}</span> <PriorityBadge priority={task.priority} />{" "}
        <RunBadge runState={task.run_state} /> <span className="muted">version {task.version}</span>
      </p>
      <FormAlert message={topError} />

      <div className="task-grid">
        <div className="task-main">
          <section aria-labelledby="description-title">
            <h2 id="description-title">Description</h2>
            {task.description ? <MarkdownText source={task.description} /> : <p className="muted">No description.</p>}
          </section>
          <section aria-labelledby="criteria-title">
            <h2 id="criteria-title">Acceptance criteria</h2>
            {task.acceptance_criteria.length ? (
              <ul>
                {task.acceptance_criteria.map((c, i) => (
                  <li key={i}>{c}</li>
                ))}
              </ul>
            ) : (
              <p className="muted">None.</p>
            )}
          </section>
          <section aria-labelledby="plan-title">
            <h2 id="plan-title">Plan</h2>
            {task.plan_markdown ? <MarkdownText source={task.plan_markdown} /> : <p className="muted">No plan yet.</p>}
          </section>
          <section aria-labelledby="result-title">
            <h2 id="result-title">Latest result</h2>
            <TaskResult result={task.result} />
          </section>
          <TaskNote note={task.note_markdown} artifacts={task.artifacts} />
          <TaskComments comments={comments} />
        </div>

        <aside className="task-side" aria-label="Task details">
          <dl className="facts">
            <dt>Project</dt>
            <dd>
              <Link to={`/projects/${task.project_key}`}>{task.project_key}</Link>
            </dd>
            <dt>Status</dt>
            <dd>{task.status}</dd>
            {task.block_reason ? (
              <>
                <dt>Blocked because</dt>
                <dd className="pre-line">{task.block_reason}</dd>
              </>
            ) : null}
            <dt>Priority</dt>
            <dd>{task.priority}</dd>
            <dt>Labels</dt>
            <dd>{task.labels.length ? <LabelChips labels={task.labels} colors={colors} /> : <span className="muted">—</span>}</dd>
            <dt>Engine</dt>
            <dd>{task.engine ?? <span className="muted">—</span>}</dd>
            <dt>Branch</dt>
            <dd>{task.branch ? <code>{task.branch}</code> : <span className="muted">—</span>}</dd>
            <dt>Run state</dt>
            <dd>
              {task.run_state ?? <span className="muted">—</span>}
              {task.run_state_updated_at ? (
                <>
                  {" "}
                  (<Age iso={task.run_state_updated_at} now={now} />)
                </>
              ) : null}
            </dd>
            <dt>Repository</dt>
            <dd>{task.repo ?? <span className="muted">—</span>}</dd>
            <dt>Created</dt>
            <dd>
              <UtcTime iso={task.created_at} />
            </dd>
            <dt>Updated</dt>
            <dd>
              <UtcTime iso={task.updated_at} />
            </dd>
            {task.archived_at ? (
              <>
                <dt>Archived</dt>
                <dd>
                  <UtcTime iso={task.archived_at} />
                </dd>
              </>
            ) : null}
            <dt>UUID</dt>
            <dd>
              <code>{task.uuid}</code>
            </dd>
          </dl>

          <TaskCoordination
            task={task}
            blockedBy={dependencies.blockedBy}
            blocking={dependencies.blocking}
            error={errorFor("release")?.formError ?? null}
          />

          <section aria-labelledby="lifecycle-title" className="card">
            <h2 id="lifecycle-title">Lifecycle</h2>
            <Form method="post" className="stack">
              <input type="hidden" name="intent" value="status" />
              <label htmlFor="status-select">Status</label>
              <select id="status-select" name="status" defaultValue={task.status} key={`status-${task.version}`}>
                {TASK_STATUSES.map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </select>
              {errorFor("status")?.fieldErrors.status ? (
                <p className="field-error">{errorFor("status")!.fieldErrors.status}</p>
              ) : null}
              <button type="submit" className="secondary">
                Set status
              </button>
            </Form>
            {task.status === "ready" ? (
              <Form method="post">
                <input type="hidden" name="intent" value="review" />
                <button type="submit">Approve (ready → done)</button>
              </Form>
            ) : null}
            <BlockForm key={actionData?.answer ?? ""} task={task} actionData={errorFor("block")} />
          </section>

          <section aria-labelledby="delete-title" className="card">
            <h2 id="delete-title">Delete</h2>
            {confirmDelete ? (
              <Form method="post">
                <input type="hidden" name="intent" value="delete" />
                <p role="alert">
                  {`Delete ${task.task_key} for good? Its key is never given out again; its history stays in the audit log.`}
                </p>
                <div className="form-actions">
                  <button type="submit" className="danger">
                    {`Yes, delete ${task.task_key}`}
                  </button>
                  <Link to={`/tasks/${task.task_key}`}>Cancel</Link>
                </div>
              </Form>
            ) : (
              <Form method="get">
                <input type="hidden" name="confirm" value="delete" />
                <button type="submit" className="danger">
                  Delete task…
                </button>
              </Form>
            )}
          </section>
        </aside>
      </div>

      <EditForm
        key={`${location.key}:${actionData?.answer ?? ""}`}
        task={task}
        actionData={actionData?.intent === "update" ? actionData : undefined}
      />

      <section aria-labelledby="history-title">
        <h2 id="history-title">History</h2>
        <TaskHistory entries={history} />
      </section>
    </main>
  );
}

/**
 * The edit form keeps the version and values it was opened with while live updates
 * reload the page's data; when the task moves on meanwhile it says so, and saving
 * then reports exactly what changed instead of overwriting it.
 */
function EditForm({ task, actionData }: { task: TaskView; actionData: ActionData | undefined }) {
  const [version] = useState(actionData?.conflict?.version ?? task.version);
  const [values] = useState<TaskFieldValues>(actionData?.values ?? formValuesOf(task));
  const movedOn = task.version !== version && !actionData?.conflict;
  return (
    <section aria-labelledby="edit-title" className="card">
      <h2 id="edit-title">Edit</h2>
      {actionData?.formError ? (
        <div className="alert error" role="alert">
          <p>{actionData.formError}</p>
          {actionData.conflict && actionData.conflict.changes.length > 0 ? (
            <div>
              <p>Changed meanwhile:</p>
              <ConflictChanges changes={actionData.conflict.changes} />
            </div>
          ) : null}
        </div>
      ) : null}
      {movedOn ? (
        <div className="alert warning" role="status">
          This task has changed since this form was opened (now version {task.version}). Saving will show what changed first.
        </div>
      ) : null}
      <Form method="post" noValidate>
        <input type="hidden" name="intent" value="update" />
        <input type="hidden" name="version" value={version} />
        <TaskFields values={values} errors={actionData?.fieldErrors ?? {}} />
        <div className="form-actions">
          <button type="submit">Save changes</button>
        </div>
      </Form>
    </section>
  );
}

/** What changed since the version a form carried: the audit entries a conflict answer lists. */
function ConflictChanges({ changes }: { changes: NonNullable<ActionData["conflict"]>["changes"] }) {
  return (
    <ul>
      {changes.map((entry) => (
        <li key={entry.seq}>
          {entry.action} by {actorText(entry)}, <UtcTime iso={entry.at} />
          <EntryChanges entry={entry} />
        </li>
      ))}
    </ul>
  );
}

/**
 * Block (→ hold) with an optional reason. It carries the version the page shows (after a
 * conflict, the version it reported, whose changes are listed): a task changed since is
 * answered with what changed, the reason kept, and nothing blocked.
 */
function BlockForm({ task, actionData }: { task: TaskView; actionData: ActionData | undefined }) {
  const reasonError = actionData?.fieldErrors.reason;
  const version = Math.max(task.version, actionData?.conflict?.version ?? 0);
  return (
    <Form method="post" className="stack">
      <input type="hidden" name="intent" value="block" />
      <input type="hidden" name="version" value={version} />
      {actionData?.formError ? (
        <div className="alert error" role="alert">
          <p>{actionData.formError}</p>
          {actionData.conflict && actionData.conflict.changes.length > 0 ? (
            <ConflictChanges changes={actionData.conflict.changes} />
          ) : null}
        </div>
      ) : null}
      <label htmlFor="block-reason">Reason for blocking (optional)</label>
      <input
        id="block-reason"
        name="reason"
        type="text"
        maxLength={BLOCK_REASON_MAX}
        defaultValue={actionData?.reason ?? ""}
        aria-invalid={reasonError ? true : undefined}
        aria-describedby={reasonError ? "block-reason-error" : undefined}
      />
      {reasonError ? (
        <p className="field-error" id="block-reason-error">
          {reasonError}
        </p>
      ) : null}
      <button type="submit" className="secondary">
        Block (→ hold)
      </button>
    </Form>
  );
}

function TaskResult({ result }: { result: Record<string, unknown> | null }) {
  if (!result) return <p className="muted">No result reported yet.</p>;
  const { summary, pr_url: prUrl, tests, ...rest } = result;
  const pr = typeof prUrl === "string" ? safeUrl(prUrl) : null;
  return (
    <div className="result">
      {summary !== undefined ? (
        <>
          <h3>Summary</h3>
          <p className="pre-line">{typeof summary === "string" ? summary : JSON.stringify(summary)}</p>
        </>
      ) : null}
      {prUrl !== undefined ? (
        <>
          <h3>Pull request</h3>
          <p>
            {pr && /^https?:/i.test(pr) ? (
              <a href={pr} rel="noopener noreferrer nofollow">
                {pr}
              </a>
            ) : (
              <code>{typeof prUrl === "string" ? prUrl : JSON.stringify(prUrl)}</code>
            )}
          </p>
        </>
      ) : null}
      {tests !== undefined ? (
        <>
          <h3>Tests</h3>
          {typeof tests === "string" ? <p className="pre-line">{tests}</p> : <pre>{JSON.stringify(tests, null, 2)}</pre>}
        </>
      ) : null}
      {Object.keys(rest).length > 0 ? (
        <>
          <h3>Other fields</h3>
          <pre>{JSON.stringify(rest, null, 2)}</pre>
        </>
      ) : null}
    </div>
  );
}

export const meta: MetaFunction<typeof loader> = ({ data: loaded }) => [
  { title: loaded ? `${loaded.task.task_key} ${loaded.task.title} · PreqStation` : "Task · PreqStation" },
];
