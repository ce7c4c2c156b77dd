import { useActionData, useFetcher } from "@remix-run/react";
import { useEffect, useRef, useState } from "react";
import type { CommentView } from "~/lib/comments/schemas";
import type { CommentFormAnswer } from "~/lib/http/comment-form.server";
import { MarkdownText } from "./markdown";
import { UtcTime } from "./utc-time";

/** The most a comment may hold (contract §10), mirrored on the textarea so a browser never sends more. */
export const COMMENT_MAX = 50_000;

function authorText(author: CommentView["author"]): string {
  if (author === "owner") return "You (owner)";
  return author.type === "oauth" ? `${author.name} (OAuth app)` : `${author.name} (token)`;
}

/** A comment's run state as a badge: queued, working, done, failed; nothing when it asks for no work. */
export function CommentStateBadge({ state }: { state: CommentView["run_state"] }) {
  if (!state) return null;
  const tone = state === "done" ? "success" : state === "failed" ? "failure" : `run-${state}`;
  return <span className={`badge ${tone}`}>{state}</span>;
}

function CommentItem({ comment, replies }: { comment: CommentView; replies: CommentView[] }) {
  return (
    <li className="comment" id={`comment-${comment.id}`}>
      <article aria-label={`Comment by ${authorText(comment.author)}`}>
        <p className="comment-meta">
          <strong className="comment-author">{authorText(comment.author)}</strong> <CommentStateBadge state={comment.run_state} />{" "}
          <span className="muted">
            <UtcTime iso={comment.created_at} />
          </span>
        </p>
        <MarkdownText source={comment.body} />
        {comment.run_state === "failed" && comment.error_message ? (
          <p className="comment-error pre-line">
            <strong>Failed:</strong> {comment.error_message}
          </p>
        ) : null}
      </article>
      {replies.length > 0 ? (
        <ol className="comment-replies" aria-label="Replies">
          {replies.map((reply) => (
            <CommentItem key={reply.id} comment={reply} replies={[]} />
          ))}
        </ol>
      ) : null}
    </li>
  );
}

/**
 * The task's conversation (contract §10): top-level comments oldest first, each with
 * its replies under it, every one with its author and state, rendered as safe
 * Markdown; then the owner's form. The page's live updates reload the thread when
 * an agent answers.
 */
export function TaskComments({ comments }: { comments: CommentView[] }) {
  const top = comments.filter((c) => c.parent_id === null);
  const repliesOf = new Map<string, CommentView[]>();
  for (const c of comments) {
    if (c.parent_id !== null) repliesOf.set(c.parent_id, [...(repliesOf.get(c.parent_id) ?? []), c]);
  }
  return (
    <section aria-labelledby="comments-title" id="comments">
      <h2 id="comments-title">Comments</h2>
      {top.length === 0 ? (
        <p className="muted">No comments yet. Ask the agent working on this task a question below.</p>
      ) : (
        <ol className="comments">
          {top.map((c) => (
            <CommentItem key={c.id} comment={c} replies={repliesOf.get(c.id) ?? []} />
          ))}
        </ol>
      )}
      <CommentForm />
    </section>
  );
}

/**
 * The owner's comment form: a plain POST (`intent=comment`, `body`) without
 * JavaScript; with it, one fetch and the thread reloads, the text cleared once
 * posted and kept, with the error, when it was not.
 */
function CommentForm() {
  const fetcher = useFetcher<CommentFormAnswer>();
  const actionData = useActionData() as Partial<CommentFormAnswer> | undefined;
  const formRef = useRef<HTMLFormElement>(null);
  const busy = fetcher.state !== "idle";
  // A posted comment redirects, and a fetcher keeps its previous answer through a
  // redirect: the answer held when the post began is hidden once it is done.
  const [hidden, setHidden] = useState<CommentFormAnswer | undefined>(undefined);
  const heldAtPost = useRef<CommentFormAnswer | undefined>(undefined);
  const wasBusy = useRef(false);
  useEffect(() => {
    if (busy && !wasBusy.current) heldAtPost.current = fetcher.data;
    if (!busy && wasBusy.current && fetcher.data === heldAtPost.current) {
      formRef.current?.reset();
      setHidden(fetcher.data);
    }
    wasBusy.current = busy;
  }, [busy, fetcher.data]);
  const fetched = fetcher.data && fetcher.data !== hidden ? fetcher.data.comment : undefined;
  const answer = fetched ?? (fetcher.data === undefined ? actionData?.comment : undefined);
  const error = answer?.fieldErrors.body ?? answer?.fieldErrors.form;
  return (
    <fetcher.Form method="post" ref={formRef} className="stack comment-form" noValidate>
      <input type="hidden" name="intent" value="comment" />
      <label htmlFor="comment-body">Add a comment (Markdown)</label>
      {answer?.formError ? (
        <div className="alert error" role="alert">
          {answer.formError}
          {error ? ` ${error}` : null}
        </div>
      ) : null}
      <textarea
        key={answer?.answer ?? "new"}
        id="comment-body"
        name="body"
        rows={4}
        maxLength={COMMENT_MAX}
        defaultValue={answer?.body ?? ""}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? "comment-body-error" : undefined}
      />
      {error ? (
        <p className="field-error" id="comment-body-error">
          {error}
        </p>
      ) : null}
      <div className="form-actions">
        <button type="submit" disabled={busy}>
          {busy ? "Posting…" : "Post comment"}
        </button>
      </div>
    </fetcher.Form>
  );
}
