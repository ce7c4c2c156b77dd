/** One changed field, its values already turned into the text to show. */
export interface ChangeRow {
  field: string;
  before: string;
  after: string;
}

/**
 * The before/after table of an audit entry's changes, for a task's or project's
 * history and for the audit log console. Values are rendered as text, never as markup.
 */
export function ChangesTable({ changes, empty, caption }: { changes: readonly ChangeRow[]; empty: string; caption?: string }) {
  if (changes.length === 0) return <p className="muted">{empty}</p>;
  return (
    <table className="changes">
      {caption ? <caption className="visually-hidden">{caption}</caption> : null}
      <thead>
        <tr>
          <th scope="col">Field</th>
          <th scope="col">Before</th>
          <th scope="col">After</th>
        </tr>
      </thead>
      <tbody>
        {changes.map((c) => (
          <tr key={c.field}>
            <th scope="row">{c.field}</th>
            <td className="value">{c.before}</td>
            <td className="value">{c.after}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
