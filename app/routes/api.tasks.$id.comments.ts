import { apiJson } from "~/lib/api/errors.server";
import { deferredJsonInput } from "~/lib/api/input.server";
import { COMMENT_LOCATION, ok, TASK_ID } from "~/lib/api/openapi.server";
import { defineApiRoute } from "~/lib/api/route.server";
import { CommentBodySchema } from "~/lib/api/schemas";
import { createComment, listComments } from "~/lib/comments/comments.server";

/** GET: the task's comments, replies included, oldest first. POST (full scope) `{body}`: a new comment (contract §10). */
const route = defineApiRoute("/api/tasks/{id}/comments", {
  GET: {
    doc: {
      operationId: "listTaskComments",
      summary: "The task's comments, oldest first, replies included (parent_id)",
      parameters: [TASK_ID],
      responses: { "200": ok("The comments", "CommentListResponse") },
      errors: ["NotFound"],
    },
    handler: async ({ context, params }) => {
      return apiJson({ comments: await listComments(context.services.db, params.id ?? "") });
    },
  },
  POST: {
    doc: {
      operationId: "createTaskComment",
      summary: "Comment on the task (an agent's comment starts with run_state null)",
      parameters: [TASK_ID],
      body: "CommentBody",
      responses: { "201": ok("Created", "CommentResponse", COMMENT_LOCATION) },
      errors: ["NotFound"],
    },
    handler: async ({ request, context, params, auth }) => {
      // The body is read first; its errors are answered after the task lookup (an unknown task is a 404 whatever the body).
      const body = await deferredJsonInput(request, CommentBodySchema);
      const comment = await createComment(context.services, auth.ctx, { taskId: params.id ?? "", body });
      return apiJson({ comment }, { status: 201, headers: { Location: `/api/task-comments/${comment.id}` } });
    },
  },
});

export const loader = route.loader;
export const action = route.action;
