import type { Owner, Session } from "../../../db/schema";
import { runCommand, type CommandDeps } from "../command/command.server";
import type { RequestContext } from "../domain/context";
import { recordEvent } from "../security/events.server";
import type { PasswordDeps } from "./password.server";
import type { AttemptSlots } from "./sign-in.server";
import { isSealedDataError, type DataKey } from "./two-factor/data-key.server";
import { finishPasskeyAuthentication, type RelyingParty } from "./two-factor/passkeys.server";
import { markReauthenticated } from "./two-factor/sudo.server";
import { isTotpEnabled, verifySecondFactor } from "./two-factor/totp-factor.server";

/**
 * `/sudo`: the signed-in owner proves the password again (plus a TOTP or recovery code
 * when TOTP is on), or uses a passkey, before a sensitive action (contract §6). Each
 * success marks the session re-authenticated (sudo mode for SUDO_MAX_AGE) with a
 * `sudo_granted` event; each failure is a `sudo_failed` event and keeps the attempt
 * counted by the attempt guard (throttled like sign-in).
 */
export type ReauthenticateResult =
  | { ok: true; method: "password" | "totp" | "recovery_code" | "passkey" }
  | {
      ok: false;
      reason:
        "wrong_password" | "code_required" | "wrong_code" | "replayed" | "malformed" | "unreadable_secret" | "session_ended";
    }
  | { ok: false; reason: "passkey_refused" | "other_owner" };

type Deps = CommandDeps & PasswordDeps & { dataKey: DataKey };

export async function reauthenticate(
  deps: Deps,
  ctx: RequestContext,
  input: { owner: Owner; session: Pick<Session, "id_hash">; password: string; code: string | undefined; attempt: AttemptSlots },
): Promise<ReauthenticateResult> {
  const { db } = deps;
  const fail = async (reason: Exclude<ReauthenticateResult, { ok: true }>["reason"]) => {
    await recordEvent(db, ctx, { type: "sudo_failed", outcome: "failure", details: { reason } });
    return { ok: false, reason } as const;
  };
  if (!(await deps.passwords.verify(input.password, input.owner.password_hash))) return fail("wrong_password");
  let method: "password" | "totp" | "recovery_code" = "password";
  if (await isTotpEnabled(db, input.owner.id)) {
    if (input.code === undefined) {
      // The password was right; asking for the code is not a failed guess.
      input.attempt.release();
      return { ok: false, reason: "code_required" };
    }
    let checked;
    try {
      checked = await verifySecondFactor(deps, ctx, { ownerId: input.owner.id, code: input.code });
    } catch (error) {
      if (!isSealedDataError(error)) throw error;
      input.attempt.release();
      return fail("unreadable_secret");
    }
    if (!checked.ok) return fail(checked.reason === "not_enabled" ? "wrong_code" : checked.reason);
    method = checked.method;
  }
  return grant(deps, ctx, input, method);
}

/** `/sudo` with a passkey: it must be one of this owner's, verified as on `/login`. */
export async function reauthenticateWithPasskey(
  deps: Deps,
  ctx: RequestContext,
  input: {
    owner: Owner;
    session: Pick<Session, "id_hash">;
    challengeId: unknown;
    response: unknown;
    rp: RelyingParty;
    attempt: AttemptSlots;
  },
): Promise<ReauthenticateResult> {
  const verified = await finishPasskeyAuthentication(deps, ctx, {
    challengeId: input.challengeId,
    response: input.response,
    rp: input.rp,
  });
  if (!verified.ok || verified.ownerId !== input.owner.id) {
    const reason = verified.ok ? "other_owner" : "passkey_refused";
    await recordEvent(deps.db, ctx, {
      type: "sudo_failed",
      outcome: "failure",
      details: { reason, ...(verified.ok ? {} : { passkey: verified.reason }) },
    });
    return { ok: false, reason };
  }
  return grant(deps, ctx, input, "passkey");
}

async function grant(
  deps: Deps,
  ctx: RequestContext,
  input: { session: Pick<Session, "id_hash">; attempt: AttemptSlots },
  method: "password" | "totp" | "recovery_code" | "passkey",
): Promise<ReauthenticateResult> {
  input.attempt.release();
  const marked = await runCommand(deps, ctx, async (tx) => {
    if (!(await markReauthenticated(tx.db, input.session))) return false;
    await tx.event({ type: "sudo_granted", outcome: "success", details: { method } });
    return true;
  });
  return marked ? { ok: true, method } : { ok: false, reason: "session_ended" };
}
