import { Link } from "@remix-run/react";
import type { TaskCardView } from "~/lib/tasks/board.server";

const PALETTE = new Set(["gray", "red", "orange", "amber", "green", "teal", "cyan", "blue", "indigo", "purple", "pink", "brown"]);

/** A label chip; its color is a class from the fixed palette (the CSP allows no inline styles). */
export function LabelChip({ name, color }: { name: string; color: string | undefined }) {
  const tone = color && PALETTE.has(color) ? color : "gray";
  return <span className={`label label-${tone}`}>{name}</span>;
}

export function LabelChips({ labels, colors }: { labels: readonly string[]; colors: Record<string, string> }) {
  if (labels.length === 0) return null;
  return (
    <ul className="labels" aria-label="Labels">
      {labels.map((name) => (
        <li key={name}>
          <LabelChip name={name} color={colors[name.toLowerCase()]} />
        </li>
      ))}
    </ul>
  );
}

export function PriorityBadge({ priority }: { priority: string }) {
  if (priority === "none") return null;
  return <span className={`badge priority-${priority}`}>{priority}</span>;
}

/** "working" (or "queued") while an agent has the task. */
export function RunBadge({ runState }: { runState: string | null }) {
  if (!runState) return null;
  return <span className={`badge run-${runState}`}>{runState}</span>;
}

/** A lock with the holder's name while an agent's lease on the task is live (contract §11). */
export function ClaimBadge({ claimedBy }: { claimedBy: { type: string; name: string } | null }) {
  if (!claimedBy) return null;
  const who = `${claimedBy.type === "oauth" ? "OAuth grant" : "token"} ${claimedBy.name}`;
  return (
    <span className="badge claimed" title={`Claimed by ${who}`}>
      <span aria-hidden="true">🔒</span> <span className="visually-hidden">Claimed by </span>
      {claimedBy.name}
    </span>
  );
}

/** "3 h ago", from the server's clock at render time (`now`), so the browser renders the same text. */
export function relativeAge(iso: string, now: number): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return "just now";
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  const days = Math.floor(hours / 24);
  if (days < 60) return `${days} d ago`;
  return iso.slice(0, 10);
}

export function Age({ iso, now }: { iso: string; now: number }) {
  return (
    <time dateTime={iso} title={iso}>
      {relativeAge(iso, now)}
    </time>
  );
}

export function TaskCard({ task, colors, now }: { task: TaskCardView; colors: Record<string, string>; now: number }) {
  return (
    <article className="task-card" aria-labelledby={`card-${task.task_key}`}>
      <h3 id={`card-${task.task_key}`} className="task-card-title">
        <Link to={`/tasks/${task.task_key}`}>
          <span className="task-key">{task.task_key}</span> {task.title}
        </Link>
      </h3>
      <div className="task-card-meta">
        <PriorityBadge priority={task.priority} />
        <RunBadge runState={task.run_state} />
        <ClaimBadge claimedBy={task.claimed_by} />
        {task.engine ? <span className="engine">{task.engine}</span> : null}
        <span className="muted">
          updated <Age iso={task.updated_at} now={now} />
        </span>
      </div>
      <LabelChips labels={task.labels} colors={colors} />
    </article>
  );
}
