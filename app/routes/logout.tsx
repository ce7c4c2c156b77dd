import { redirect, type ActionFunctionArgs } from "@remix-run/node";
import { getOwnerSession, recordRequestEvent } from "~/lib/auth/owner-session.server";
import { clearSessionCookie, deleteSession } from "~/lib/auth/session.server";

/** Sign-out is a POST only: GET (a link, a prefetch, an image tag) never signs anyone out. */
function postOnly() {
  return new Response("Use POST to sign out.", {
    status: 405,
    headers: { Allow: "POST", "Content-Type": "text/plain; charset=utf-8" },
  });
}

export function loader() {
  return postOnly();
}

export async function action({ request, context }: ActionFunctionArgs) {
  if (request.method !== "POST") return postOnly();
  const { services } = context;
  const found = await getOwnerSession(request, context);
  if (found) {
    await deleteSession(services.db, found.sessionId);
    await recordRequestEvent(request, context, {
      type: "logout",
      outcome: "success",
      details: { session: found.session.public_id },
    });
  }
  return redirect("/login", { headers: { "Set-Cookie": await clearSessionCookie(services.sessionCookie) } });
}
