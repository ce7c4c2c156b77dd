import type { ActionFunctionArgs } from "@remix-run/node";
import { guardAttempt, minutesText } from "~/lib/auth/attempt-guard.server";
import { requireOwner, safeRedirectPath } from "~/lib/http/owner-session.server";
import { reauthenticateWithPasskey } from "~/lib/auth/reauthenticate.server";
import { jsonNoStore, readJsonObject, relyingParty } from "~/lib/http/webauthn.server";

/**
 * `POST /sudo/passkey/verify` with `{challengeId, response, redirectTo}`: one of the
 * owner's own passkeys re-authenticates this session (sudo mode). Throttled like `/sudo`.
 */
export async function action({ request, context }: ActionFunctionArgs) {
  const { owner, session, ctx } = await requireOwner(request, context);
  const { services } = context;
  const guard = await guardAttempt(services, ctx, { via: "sudo", account: true, cookieHeader: request.headers.get("cookie") });
  if (!guard.allowed) {
    return jsonNoStore(
      { message: `Too many failed attempts. Try again in ${minutesText(guard.retryAfter)}.` },
      { status: 429, headers: { "Retry-After": String(guard.retryAfter) } },
    );
  }
  const body = await readJsonObject(request);
  if (!body) {
    guard.release();
    return jsonNoStore({ message: "Send the passkey response as a JSON object." }, { status: 400 });
  }
  const result = await reauthenticateWithPasskey(services, ctx, {
    owner,
    session,
    challengeId: body.challengeId,
    response: body.response,
    rp: relyingParty(request),
    attempt: guard,
  });
  if (!result.ok) return jsonNoStore({ message: "That passkey was not accepted." }, { status: 401 });
  return jsonNoStore({ redirectTo: safeRedirectPath(body.redirectTo, "/settings") });
}

export function loader() {
  return new Response("Method Not Allowed", { status: 405, headers: { Allow: "POST" } });
}
