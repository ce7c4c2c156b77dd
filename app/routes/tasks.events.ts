import type { LoaderFunctionArgs } from "@remix-run/node";
import { requireOwner } from "~/lib/http/owner-session.server";
import { changeStream } from "~/lib/http/change-stream.server";

/**
 * The owner's live stream (server-sent events) behind the same session check as
 * every page: `event: change` when tasks or projects change, nothing else. The board
 * and task pages listen to it with JavaScript and reload their data.
 */
export async function loader({ request, context }: LoaderFunctionArgs) {
  const { session } = await requireOwner(request, context);
  return changeStream({ db: context.services.db, hub: context.services.changes, session, signal: request.signal });
}
