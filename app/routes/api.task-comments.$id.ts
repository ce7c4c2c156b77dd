import { apiJson } from "~/lib/api/errors.server";
import { deferredJsonInput } from "~/lib/api/input.server";
import { COMMENT_ID, ok } from "~/lib/api/openapi.server";
import { defineApiRoute } from "~/lib/api/route.server";
import { CommentStateBodySchema } from "~/lib/api/schemas";
import { getComment, setCommentState } from "~/lib/comments/comments.server";

/** GET: one comment. PATCH (full scope) `{run_state, error_message?}`: its run state (contract §10). */
const route = defineApiRoute("/api/task-comments/{id}", {
  GET: {
    doc: {
      operationId: "getTaskComment",
      summary: "One comment",
      parameters: [COMMENT_ID],
      responses: { "200": ok("The comment", "CommentResponse") },
      errors: ["NotFound"],
    },
    handler: async ({ context, params }) => {
      return apiJson({ comment: await getComment(context.services.db, params.id ?? "") });
    },
  },
  PATCH: {
    doc: {
      operationId: "updateTaskCommentState",
      summary:
        "Set the comment's run_state (queued → working → done, or failed with error_message); 409 for a change its state does not allow",
      parameters: [COMMENT_ID],
      body: "CommentStateBody",
      responses: { "200": ok("The comment", "CommentResponse") },
      errors: ["NotFound", "Conflict"],
    },
    handler: async ({ request, context, params, auth }) => {
      const state = await deferredJsonInput(request, CommentStateBodySchema);
      const comment = await setCommentState(context.services, auth.ctx, { commentId: params.id ?? "", state });
      return apiJson({ comment });
    },
  },
});

export const loader = route.loader;
export const action = route.action;
