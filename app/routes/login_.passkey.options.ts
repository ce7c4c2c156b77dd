import type { ActionFunctionArgs } from "@remix-run/node";
import { limitPerIp, minutesText } from "~/lib/auth/attempt-guard.server";
import { startPasskeyAuthentication } from "~/lib/auth/two-factor/passkeys.server";
import { requestContext } from "~/lib/domain/context";
import { jsonNoStore, relyingParty } from "~/lib/http/webauthn.server";

/**
 * `POST /login/passkey/options`: starts "Sign in with a passkey". Anonymous (that is the
 * point); the server's same-origin check has passed; each client IP may start a few per
 * window (429 with Retry-After after that), and the pending ceremonies are capped.
 * The relying party comes from the server's verified origin, never the body.
 */
export async function action({ request, context }: ActionFunctionArgs) {
  const { services } = context;
  const ctx = requestContext(request, context.request);
  const wait = await limitPerIp(services, ctx, services.limiters.passkeyOptions, "passkey_options");
  if (wait !== null) {
    return jsonNoStore(
      { message: `Too many passkey sign-ins started from your address. Try again in ${minutesText(wait)}.` },
      { status: 429, headers: { "Retry-After": String(wait) } },
    );
  }
  const started = await startPasskeyAuthentication(services, ctx, { rp: relyingParty(request) });
  return jsonNoStore(started);
}

export function loader() {
  return new Response("Method Not Allowed", { status: 405, headers: { Allow: "POST" } });
}
