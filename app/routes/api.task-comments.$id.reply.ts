import { apiJson } from "~/lib/api/errors.server";
import { deferredJsonInput } from "~/lib/api/input.server";
import { COMMENT_ID, COMMENT_LOCATION, ok } from "~/lib/api/openapi.server";
import { defineApiRoute } from "~/lib/api/route.server";
import { CommentBodySchema } from "~/lib/api/schemas";
import { replyToComment } from "~/lib/comments/comments.server";

/** POST (full scope) `{body}`: a reply to a top-level comment (a reply to a reply is a 409). */
const route = defineApiRoute("/api/task-comments/{id}/reply", {
  POST: {
    doc: {
      operationId: "replyTaskComment",
      summary: "Reply to a top-level comment; 409 for a reply to a reply",
      parameters: [COMMENT_ID],
      body: "CommentBody",
      responses: { "201": ok("The reply", "CommentResponse", COMMENT_LOCATION) },
      errors: ["NotFound", "Conflict"],
    },
    handler: async ({ request, context, params, auth }) => {
      const body = await deferredJsonInput(request, CommentBodySchema);
      const comment = await replyToComment(context.services, auth.ctx, { commentId: params.id ?? "", body });
      return apiJson({ comment }, { status: 201, headers: { Location: `/api/task-comments/${comment.id}` } });
    },
  },
});

export const loader = route.loader;
export const action = route.action;
