import type { ActionFunctionArgs } from "@remix-run/node";
import { guardAttempt, minutesText } from "~/lib/auth/attempt-guard.server";
import { newDevice, serializeDeviceCookie } from "~/lib/auth/device-cookie.server";
import { safeRedirectPath } from "~/lib/http/owner-session.server";
import { readSessionId, serializeSessionCookie } from "~/lib/auth/session.server";
import { signInWithPasskey } from "~/lib/auth/sign-in.server";
import { requestContext } from "~/lib/domain/context";
import { jsonNoStore, readJsonObject, relyingParty } from "~/lib/http/webauthn.server";

/**
 * `POST /login/passkey/verify` with `{challengeId, response, redirectTo}`: finishes
 * "Sign in with a passkey". Throttled like a password sign-in (a refused assertion
 * counts); on success the session and device cookies are set and the JSON names the
 * same-site path to go to.
 */
export async function action({ request, context }: ActionFunctionArgs) {
  const { services } = context;
  const ctx = requestContext(request, context.request);
  const cookieHeader = request.headers.get("cookie");
  const guard = await guardAttempt(services, ctx, { via: "login", account: true, cookieHeader });
  if (!guard.allowed) {
    return jsonNoStore(
      { message: `Too many failed sign-in attempts. Try again in ${minutesText(guard.retryAfter)}.` },
      { status: 429, headers: { "Retry-After": String(guard.retryAfter) } },
    );
  }
  const body = await readJsonObject(request);
  if (!body) {
    guard.release();
    return jsonNoStore({ message: "Send the passkey response as a JSON object." }, { status: 400 });
  }
  const previousSessionId = await readSessionId(services.sessionCookie, cookieHeader);
  const result = await signInWithPasskey(services, ctx, {
    challengeId: body.challengeId,
    response: body.response,
    rp: relyingParty(request),
    previousSessionId,
    attempt: guard,
  });
  if (!result.ok) {
    const message =
      result.reason === "no_challenge"
        ? "The passkey request expired. Try again."
        : result.reason === "unknown_credential"
          ? "That passkey is not registered here."
          : "That passkey was not accepted.";
    return jsonNoStore({ message }, { status: 401 });
  }
  const headers = new Headers();
  headers.append("Set-Cookie", await serializeSessionCookie(services.sessionCookie, result.session.id, result.session.row));
  const device = guard.device?.ownerId === result.owner.id ? guard.device : newDevice(result.owner.id);
  headers.append("Set-Cookie", await serializeDeviceCookie(services.deviceCookie, device));
  return jsonNoStore({ redirectTo: safeRedirectPath(body.redirectTo) }, { headers });
}

export function loader() {
  return new Response("Method Not Allowed", { status: 405, headers: { Allow: "POST" } });
}
