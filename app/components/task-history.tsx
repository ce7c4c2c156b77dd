import type { HistoryEntry } from "~/lib/audit/history.server";
import { ChangesTable } from "./changes-table";
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

/** An entry's changed fields, as the shared changes table shows them. */
export function EntryChanges({ entry }: { entry: HistoryEntry }) {
  return (
    <ChangesTable
      changes={entry.changes.map((c) => ({ field: c.field, before: shownValue(c.before), after: shownValue(c.after) }))}
      empty="No field changed."
    />
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
          <EntryChanges entry={entry} />
        </li>
      ))}
    </ol>
  );
}
