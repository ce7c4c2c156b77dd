import type { ActionFunctionArgs } from "@remix-run/node";
import { requestContext } from "~/lib/domain/context";
import { readForm } from "~/lib/http/forms.server";
import { oauthError } from "~/lib/http/oauth.server";
import { revokeByToken } from "~/lib/oauth/oauth.server";

/**
 * Token revocation (RFC 7009, contract §9): `token` (access or refresh) revokes its
 * whole grant. The answer is 200 whatever the token was, so it tells nothing.
 */
export function loader() {
  return oauthError("invalid_request", "Use POST", 405, { Allow: "POST" });
}

export async function action({ request, context }: ActionFunctionArgs) {
  if (request.method !== "POST") return oauthError("invalid_request", "Use POST", 405, { Allow: "POST" });
  const form = await readForm(request);
  const token = form?.get("token");
  if (token) await revokeByToken(context.services, requestContext(request, context.request), { token });
  return new Response(null, { status: 200, headers: { "Cache-Control": "no-store" } });
}
