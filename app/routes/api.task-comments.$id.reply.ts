import { apiJson } from "~/lib/api/errors.server";
import { deferredJsonInput } from "~/lib/api/input.server";
import { defineApiRoute } from "~/lib/api/route.server";
import { CommentBodySchema } from "~/lib/api/schemas";
import { replyToComment } from "~/lib/comments/comments.server";

/** POST (full scope) `{body}`: a reply to a top-level comment (a reply to a reply is a 409). */
const route = defineApiRoute({
  POST: async ({ request, context, params, auth }) => {
    const body = await deferredJsonInput(request, CommentBodySchema);
    const comment = await replyToComment(context.services, auth.ctx, { commentId: params.id ?? "", body });
    return apiJson({ comment }, { status: 201, headers: { Location: `/api/task-comments/${comment.id}` } });
  },
});

export const loader = route.loader;
export const action = route.action;
