import { redirect, type ActionFunctionArgs } from "@remix-run/node";
import { getOwnerSession } from "~/lib/http/owner-session.server";
import { clearSessionCookie } from "~/lib/auth/session.server";
import { signOut } from "~/lib/auth/sign-in.server";

/** Sign-out is a POST only: GET (a link, a prefetch, an image tag) never signs anyone out. */
export function loader() {
  return new Response("Use POST to sign out.", {
    status: 405,
    headers: { Allow: "POST", "Content-Type": "text/plain; charset=utf-8" },
  });
}

// Methods other than GET, HEAD and POST never reach a page: the server answers them 405.
export async function action({ request, context }: ActionFunctionArgs) {
  const { services } = context;
  const found = await getOwnerSession(request, context);
  if (found) await signOut(services, found.ctx, { sessionId: found.sessionId, publicId: found.session.public_id });
  return redirect("/login", { headers: { "Set-Cookie": await clearSessionCookie(services.sessionCookie) } });
}
