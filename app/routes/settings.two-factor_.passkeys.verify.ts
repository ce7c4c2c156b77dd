import type { ActionFunctionArgs } from "@remix-run/node";
import { requireOwner, requireSudo } from "~/lib/http/owner-session.server";
import { finishPasskeyRegistration } from "~/lib/auth/two-factor/passkeys.server";
import { setFlash } from "~/lib/http/flash.server";
import { jsonNoStore, readJsonObject, relyingParty } from "~/lib/http/webauthn.server";

/**
 * `POST /settings/two-factor/passkeys/verify` with `{challengeId, name, response}`:
 * verifies the new passkey against the stored challenge and the server's relying party
 * and stores it, with its `owner.passkey_add` audit entry (sudo mode).
 */
export async function action({ request, context }: ActionFunctionArgs) {
  const owner = await requireOwner(request, context);
  requireSudo(request, context, owner, "/settings/two-factor");
  const { services } = context;
  const body = await readJsonObject(request);
  if (!body) return jsonNoStore({ message: "Send the passkey response as a JSON object." }, { status: 400 });
  const result = await finishPasskeyRegistration(services, owner.ctx, {
    owner: owner.owner,
    challengeId: body.challengeId,
    response: body.response,
    name: body.name,
    rp: relyingParty(request),
  });
  if (!result.ok) {
    const message =
      result.reason === "invalid_name"
        ? result.message
        : result.reason === "no_challenge"
          ? "The passkey request expired. Try again."
          : result.reason === "already_registered"
            ? "That passkey is already registered."
            : "The passkey could not be verified.";
    return jsonNoStore({ message }, { status: result.reason === "already_registered" ? 409 : 400 });
  }
  return jsonNoStore(
    { passkey: { id: result.passkey.id, name: result.passkey.name } },
    { headers: { "Set-Cookie": await setFlash(services.config, `Passkey “${result.passkey.name}” added.`) } },
  );
}

export function loader() {
  return new Response("Method Not Allowed", { status: 405, headers: { Allow: "POST" } });
}
