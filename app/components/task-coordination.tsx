import { Form, Link } from "@remix-run/react";
import type { TaskView } from "~/lib/api/schemas";
import { ClaimBadge } from "./task-bits";
import { UtcTime } from "./utc-time";

/** A task another one waits for (or that waits for it), as the task page lists it. */
export interface LinkedTask {
  task_key: string;
  title: string;
  status: string;
}

function LinkedTasks({ tasks, empty, label }: { tasks: readonly LinkedTask[]; empty: string; label: string }) {
  if (tasks.length === 0) return <p className="muted">{empty}</p>;
  return (
    <ul className="linked-tasks" aria-label={label}>
      {tasks.map((t) => (
        <li key={t.task_key}>
          <Link to={`/tasks/${t.task_key}`}>{t.task_key}</Link> {t.title}{" "}
          <span className={`badge status-${t.status}`}>{t.status}</span>
        </li>
      ))}
    </ul>
  );
}

/**
 * The task page's coordination card (contract §11): who holds the task's lease and
 * until when, with a plain form (works without JavaScript) to free a stuck claim,
 * and the tasks it is blocked by and those it blocks, with their status.
 */
export function TaskCoordination({
  task,
  blockedBy,
  blocking,
  error,
}: {
  task: Pick<TaskView, "claimed_by" | "lease_expires_at" | "version">;
  blockedBy: readonly LinkedTask[];
  blocking: readonly LinkedTask[];
  error: string | null;
}) {
  return (
    <section aria-labelledby="coordination-title" className="card">
      <h2 id="coordination-title">Coordination</h2>
      <h3>Claim</h3>
      {error ? (
        <p className="field-error" role="alert">
          {error}
        </p>
      ) : null}
      {task.claimed_by && task.lease_expires_at ? (
        <>
          <p>
            <ClaimBadge claimedBy={task.claimed_by} /> until <UtcTime iso={task.lease_expires_at} />
          </p>
          <Form method="post">
            <input type="hidden" name="intent" value="release" />
            <button type="submit" className="secondary">
              Free this claim
            </button>
          </Form>
        </>
      ) : (
        <p className="muted">Not claimed: any agent may start it.</p>
      )}
      <h3>Blocked by</h3>
      <LinkedTasks tasks={blockedBy} empty="Nothing: it waits for no task." label="Blocked by" />
      <h3>Blocking</h3>
      <LinkedTasks tasks={blocking} empty="No task waits for this one." label="Blocking" />
    </section>
  );
}
