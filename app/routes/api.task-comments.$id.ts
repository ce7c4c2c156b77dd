import { apiJson } from "~/lib/api/errors.server";
import { deferredJsonInput } from "~/lib/api/input.server";
import { defineApiRoute } from "~/lib/api/route.server";
import { CommentStateBodySchema } from "~/lib/api/schemas";
import { getComment, setCommentState } from "~/lib/comments/comments.server";

/** GET: one comment. PATCH (full scope) `{run_state, error_message?}`: its run state (contract §10). */
const route = defineApiRoute({
  GET: async ({ context, params }) => {
    return apiJson({ comment: await getComment(context.services.db, params.id ?? "") });
  },
  PATCH: async ({ request, context, params, auth }) => {
    const state = await deferredJsonInput(request, CommentStateBodySchema);
    const comment = await setCommentState(context.services, auth.ctx, { commentId: params.id ?? "", state });
    return apiJson({ comment });
  },
});

export const loader = route.loader;
export const action = route.action;
