import { data, redirect } from "@remix-run/node";
import { createComment } from "../comments/comments.server";
import { CommentBodySchema } from "../comments/schemas";
import type { CommandDeps } from "../command/command.server";
import type { ActorContext } from "../domain/context";
import { fieldErrorsFromZod, formErrorFrom } from "./form-errors.server";
import type { FieldErrors } from "./forms.server";

/** The task page's answer to a comment that was not written: the message, and the text as typed, to post again. */
export interface CommentFormAnswer {
  comment: { formError: string; fieldErrors: FieldErrors; body: string; answer: string };
}

/**
 * The owner's comment form on `/tasks/<KEY>` (`POST intent=comment`, field `body`,
 * contract §10): the comment is written (it starts `queued`) and the page is
 * reloaded (303, so a reload does not post again); an empty or oversized body is
 * answered inline with the text kept. An unknown task is the page's 404.
 */
export async function commentFormAction(deps: CommandDeps, ctx: ActorContext, key: string, form: URLSearchParams) {
  const body = form.get("body") ?? "";
  const fail = (status: number, formError: string, fieldErrors: FieldErrors) =>
    data<CommentFormAnswer>({ comment: { formError, fieldErrors, body, answer: crypto.randomUUID() } }, { status });
  const parsed = CommentBodySchema.safeParse({ body });
  if (!parsed.success) return fail(400, "The comment was not posted.", fieldErrorsFromZod(parsed.error));
  try {
    const comment = await createComment(deps, ctx, { taskId: key, body: parsed.data });
    throw redirect(`/tasks/${comment.task_key}#comment-${comment.id}`, 303);
  } catch (error) {
    if (error instanceof Response) throw error;
    const mapped = formErrorFrom(error);
    if (mapped.code === "NOT_FOUND") throw new Response("There is no task with this key.", { status: 404 });
    return fail(mapped.status, mapped.formError, mapped.fieldErrors);
  }
}
