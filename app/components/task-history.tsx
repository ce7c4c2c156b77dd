import type { HistoryEntry } from "~/lib/audit/history.server";
import { UtcTime } from "./utc-time";

/** A before/after value, as short text (long values are cut; everything is rendered as text). */
export function shownValue(value: unknown): string {
  if (value === null || value === undefined) return "—";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

export function actorText(entry: Pick<HistoryEntry, "actorType" | "actor">): string {
  if (entry.actorType === "owner") return `${entry.actor} (owner)`;
  if (entry.actorType === "token") return `token “${entry.actor}”`;
  if (entry.actorType === "cli") return "the CLI";
  return entry.actor;
}

export function ChangeTable({ entry }: { entry: HistoryEntry }) {
  if (entry.changes.length === 0) return <p className="muted">No field changed.</p>;
  return (
    <table className="changes">
      <thead>
        <tr>
          <th scope="col">Field</th>
          <th scope="col">Before</th>
          <th scope="col">After</th>
        </tr>
      </thead>
      <tbody>
        {entry.changes.map((c) => (
          <tr key={c.field}>
            <th scope="row">{c.field}</th>
            <td className="value">{shownValue(c.before)}</td>
            <td className="value">{shownValue(c.after)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function TaskHistory({ entries }: { entries: HistoryEntry[] }) {
  if (entries.length === 0) return <p className="muted">No history yet.</p>;
  return (
    <ol className="history">
      {entries.map((entry) => (
        <li key={entry.seq}>
          <p>
            <strong>{entry.action}</strong> by {actorText(entry)}
            {entry.channel ? <span className="muted"> via {entry.channel}</span> : null}, <UtcTime iso={entry.at} />
          </p>
          <ChangeTable entry={entry} />
        </li>
      ))}
    </ol>
  );
}
