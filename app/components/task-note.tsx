import type { TaskView } from "~/lib/tasks/schemas";
import { MarkdownText, safeUrl } from "./markdown";

/** The agent's working note and artifacts (contract §10): safe Markdown, and links only to http(s) URLs. */
export function TaskNote({ note, artifacts }: { note: TaskView["note_markdown"]; artifacts: TaskView["artifacts"] }) {
  return (
    <section aria-labelledby="note-title">
      <h2 id="note-title">Agent note</h2>
      {note ? <MarkdownText source={note} /> : <p className="muted">No note yet.</p>}
      {artifacts.length > 0 ? (
        <>
          <h3>Artifacts</h3>
          <ul className="artifacts">
            {artifacts.map((artifact, i) => {
              const url = safeUrl(artifact.url);
              return (
                <li key={i}>
                  <span className="badge">{artifact.type}</span>{" "}
                  {url && /^https?:/i.test(url) ? (
                    <a href={url} rel="noopener noreferrer nofollow">
                      {artifact.title}
                    </a>
                  ) : (
                    <span>
                      {artifact.title} <code>{artifact.url}</code>
                    </span>
                  )}
                </li>
              );
            })}
          </ul>
        </>
      ) : null}
    </section>
  );
}
