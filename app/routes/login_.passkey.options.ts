import type { ActionFunctionArgs } from "@remix-run/node";
import { startPasskeyAuthentication } from "~/lib/auth/two-factor/passkeys.server";
import { jsonNoStore, relyingParty } from "~/lib/http/webauthn.server";

/**
 * `POST /login/passkey/options`: starts "Sign in with a passkey". Anonymous (that is the
 * point); the server's same-origin check has passed; the pending ceremonies are capped.
 * The relying party comes from the server's verified origin, never the body.
 */
export async function action({ request, context }: ActionFunctionArgs) {
  const started = await startPasskeyAuthentication(context.services.db, { rp: relyingParty(request) });
  return jsonNoStore(started);
}

export function loader() {
  return new Response("Method Not Allowed", { status: 405, headers: { Allow: "POST" } });
}
