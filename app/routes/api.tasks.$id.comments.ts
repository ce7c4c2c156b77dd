import { apiJson } from "~/lib/api/errors.server";
import { deferredJsonInput } from "~/lib/api/input.server";
import { defineApiRoute } from "~/lib/api/route.server";
import { CommentBodySchema } from "~/lib/api/schemas";
import { createComment, listComments } from "~/lib/comments/comments.server";

/** GET: the task's comments, replies included, oldest first. POST (full scope) `{body}`: a new comment (contract §10). */
const route = defineApiRoute({
  GET: async ({ context, params }) => {
    return apiJson({ comments: await listComments(context.services.db, params.id ?? "") });
  },
  POST: async ({ request, context, params, auth }) => {
    // The body is read first; its errors are answered after the task lookup (an unknown task is a 404 whatever the body).
    const body = await deferredJsonInput(request, CommentBodySchema);
    const comment = await createComment(context.services, auth.ctx, { taskId: params.id ?? "", body });
    return apiJson({ comment }, { status: 201, headers: { Location: `/api/task-comments/${comment.id}` } });
  },
});

export const loader = route.loader;
export const action = route.action;
