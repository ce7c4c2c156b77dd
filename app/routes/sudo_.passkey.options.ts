import type { ActionFunctionArgs } from "@remix-run/node";
import { requireOwner } from "~/lib/http/owner-session.server";
import { startPasskeyAuthentication } from "~/lib/auth/two-factor/passkeys.server";
import { jsonNoStore, relyingParty } from "~/lib/http/webauthn.server";

/** `POST /sudo/passkey/options`: starts a passkey re-authentication for the signed-in owner. */
export async function action({ request, context }: ActionFunctionArgs) {
  const { ctx } = await requireOwner(request, context);
  return jsonNoStore(await startPasskeyAuthentication(context.services, ctx, { rp: relyingParty(request) }));
}

export function loader() {
  return new Response("Method Not Allowed", { status: 405, headers: { Allow: "POST" } });
}
