import type { ActionFunctionArgs } from "@remix-run/node";
import { requireOwner, requireSudo } from "~/lib/http/owner-session.server";
import { startPasskeyRegistration } from "~/lib/auth/two-factor/passkeys.server";
import { jsonNoStore, relyingParty } from "~/lib/http/webauthn.server";

/**
 * `POST /settings/two-factor/passkeys/options`: registration options for a new passkey
 * (signed-in owner, sudo mode: otherwise 303 to /sudo?redirectTo=/settings/two-factor).
 * The relying party is the server's verified origin.
 */
export async function action({ request, context }: ActionFunctionArgs) {
  const owner = await requireOwner(request, context);
  requireSudo(request, context, owner, "/settings/two-factor");
  return jsonNoStore(
    await startPasskeyRegistration(context.services, owner.ctx, { owner: owner.owner, rp: relyingParty(request) }),
  );
}

export function loader() {
  return new Response("Method Not Allowed", { status: 405, headers: { Allow: "POST" } });
}
