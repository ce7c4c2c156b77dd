import { z } from "zod";
import type { Owner } from "../../../db/schema";
import { runCommand, type CommandDeps } from "../command/command.server";
import type { Db } from "../db.server";
import type { RequestContext } from "../domain/context";
import { recordEvent } from "../security/events.server";
import { getOwnerByEmail, updateOwnerPassword } from "./owner.server";
import { needsRehash, unmatchableHash, type PasswordDeps } from "./password.server";
import { createSession, deleteSession, type NewSession, type SessionCookie } from "./session.server";
import { isSealedDataError, type DataKey } from "./two-factor/data-key.server";
import { completeLoginChallenge, createLoginChallenge, findLoginChallenge } from "./two-factor/login-challenge.server";
import { finishPasskeyAuthentication, type FinishAuthenticationResult, type RelyingParty } from "./two-factor/passkeys.server";
import { isTotpEnabled, type SecondFactorFailure } from "./two-factor/totp-factor.server";

/** The slots an attempt took from the attempt guard; given back when the attempt must not count. */
export interface AttemptSlots {
  release(): void;
}

export type SignInDeps = CommandDeps &
  PasswordDeps & {
    sessionCookie: SessionCookie;
    dataKey: DataKey;
  };

/** How the owner proved who they are. */
export type SignInMethod = "password" | "totp" | "recovery_code" | "passkey";

/** The challenge a correct password opened when TOTP is on: its id goes into the `login_challenge` cookie. */
export interface OpenChallenge {
  id: string;
  expiresAt: string;
  attemptsLeft: number;
}

export type SignInResult =
  | { ok: true; owner: Owner; session: NewSession; method: SignInMethod; recoveryCodesLeft?: number }
  | { ok: false; reason: "unknown_email" | "wrong_password" }
  /** The password was right and TOTP is on: ask for the code (the challenge waits for it). */
  | { ok: false; reason: "code_required"; challenge: OpenChallenge }
  /** A wrong code; `challenge` is null when this one used up the challenge's last try. */
  | { ok: false; reason: SecondFactorFailure; challenge: OpenChallenge | null }
  /** No live challenge for the code step: unknown, used, expired or killed. Start over with the password. */
  | { ok: false; reason: "no_challenge" }
  /** The stored TOTP secret does not open with this server's DATA_KEY (restored without its key). */
  | { ok: false; reason: "unreadable_secret" };

/**
 * Sign-in with the password (contract §3, §6). The attempt was counted by the attempt
 * guard before the form was read. Both password failure paths cost one scrypt
 * verification (an unknown email is checked against a hash no password matches), so
 * timing tells nothing; a failure is a `login` failure event and keeps counting.
 *
 * With a correct password:
 * - TOTP off: the slots are given back, and the session is created (see `startSession`).
 * - TOTP on, no `code`: a server-side login challenge is opened (no session), the slots
 *   are given back (the password was right), and the caller sets the `login_challenge`
 *   cookie and asks for the code.
 * - TOTP on, with `code` (the one-step POST): the challenge is opened and completed at
 *   once, exactly as the two-step flow would (a wrong code counts and is an event, and
 *   leaves the challenge open for the next try).
 */
export async function signIn(
  deps: SignInDeps,
  ctx: RequestContext,
  input: { email: string; password: string; code?: string; previousSessionId: string | null; attempt: AttemptSlots },
): Promise<SignInResult> {
  const { db } = deps;
  const owner = await getOwnerByEmail(db, input.email);
  const matches = await deps.passwords.verify(input.password, owner?.password_hash ?? unmatchableHash());
  if (!owner || !matches) {
    const reason = owner ? "wrong_password" : "unknown_email";
    const looksLikeEmail = z.email().safeParse(input.email).success;
    await recordEvent(db, ctx, {
      type: "login",
      outcome: "failure",
      details: { reason, ...(looksLikeEmail ? { email: input.email.toLowerCase() } : {}) },
    });
    return { ok: false, reason };
  }
  if (needsRehash(owner.password_hash)) {
    const rehashed = await deps.passwords.hash(input.password);
    await runCommand(deps, ctx, (tx) => updateOwnerPassword(tx.db, owner.id, rehashed));
  }
  if (!(await isTotpEnabled(db, owner.id))) {
    input.attempt.release();
    const session = await startSession(deps, ctx, { owner, previousSessionId: input.previousSessionId, method: "password" });
    return { ok: true, owner, session, method: "password" };
  }
  const challenge = await createLoginChallenge(deps, ctx, { ownerId: owner.id });
  if (input.code === undefined) {
    // The password was right: this attempt does not count. Wrong codes will.
    input.attempt.release();
    return {
      ok: false,
      reason: "code_required",
      challenge: { ...challenge, attemptsLeft: await attemptsLeft(db, challenge.id) },
    };
  }
  return completeSignIn(deps, ctx, {
    challengeId: challenge.id,
    code: input.code,
    previousSessionId: input.previousSessionId,
    attempt: input.attempt,
  });
}

async function attemptsLeft(db: Db, id: string): Promise<number> {
  return (await findLoginChallenge(db, id))?.attemptsLeft ?? 0;
}

/**
 * The code step of sign-in: completes the login challenge named by the
 * `login_challenge` cookie with a TOTP or recovery code. The attempt was counted by
 * the attempt guard; a wrong code keeps counting (toward LOGIN_RATE_LIMIT, like a
 * wrong password) and is a `second_factor` failure event (verifySecondFactor); the
 * fifth wrong code kills the challenge. On success the slots are given back and the
 * session is created, as for a password-only sign-in.
 */
export async function completeSignIn(
  deps: SignInDeps,
  ctx: RequestContext,
  input: { challengeId: string | null; code: string; previousSessionId: string | null; attempt: AttemptSlots },
): Promise<SignInResult> {
  const { db } = deps;
  let result;
  try {
    result = await completeLoginChallenge(deps, ctx, { id: input.challengeId, code: input.code });
  } catch (error) {
    if (!isSealedDataError(error)) throw error;
    input.attempt.release();
    await recordEvent(db, ctx, { type: "second_factor", outcome: "failure", details: { reason: "unreadable_secret" } });
    return { ok: false, reason: "unreadable_secret" };
  }
  if (!result.ok) {
    if (result.reason === "no_challenge") return { ok: false, reason: "no_challenge" };
    const open = result.attemptsLeft > 0 && input.challengeId ? await findLoginChallenge(db, input.challengeId) : null;
    return {
      ok: false,
      reason: result.reason,
      challenge:
        open && input.challengeId ? { id: input.challengeId, expiresAt: open.expiresAt, attemptsLeft: open.attemptsLeft } : null,
    };
  }
  input.attempt.release();
  const owner = await db.selectFrom("owners").selectAll().where("id", "=", result.ownerId).executeTakeFirst();
  if (!owner) return { ok: false, reason: "no_challenge" };
  const session = await startSession(deps, ctx, {
    owner,
    previousSessionId: input.previousSessionId,
    method: result.method,
    ...(result.recoveryCodesLeft !== undefined ? { recoveryCodesLeft: result.recoveryCodesLeft } : {}),
  });
  return {
    ok: true,
    owner,
    session,
    method: result.method,
    ...(result.recoveryCodesLeft !== undefined ? { recoveryCodesLeft: result.recoveryCodesLeft } : {}),
  };
}

export type PasskeySignInResult =
  | { ok: true; owner: Owner; session: NewSession }
  | { ok: false; reason: Exclude<FinishAuthenticationResult, { ok: true }>["reason"] };

/**
 * "Sign in with a passkey" on `/login`: the browser's assertion is verified against the
 * stored challenge, the relying party the server derived from its own verified origin,
 * user verification and the signature counter (finishPasskeyAuthentication, which
 * records each refusal). A passkey is a whole sign-in on its own (possession plus the
 * authenticator's user verification), so no password or code is asked. On success the
 * attempt's slots are given back and the session is created.
 */
export async function signInWithPasskey(
  deps: SignInDeps,
  ctx: RequestContext,
  input: { challengeId: unknown; response: unknown; rp: RelyingParty; previousSessionId: string | null; attempt: AttemptSlots },
): Promise<PasskeySignInResult> {
  const { db } = deps;
  const verified = await finishPasskeyAuthentication(deps, ctx, {
    challengeId: input.challengeId,
    response: input.response,
    rp: input.rp,
  });
  if (!verified.ok) return verified;
  const owner = await db.selectFrom("owners").selectAll().where("id", "=", verified.ownerId).executeTakeFirst();
  if (!owner) return { ok: false, reason: "unknown_credential" };
  input.attempt.release();
  const session = await startSession(deps, ctx, {
    owner,
    previousSessionId: input.previousSessionId,
    method: "passkey",
    passkeyId: verified.passkeyId,
  });
  return { ok: true, owner, session };
}

/**
 * In one transaction: the session this browser had is ended, a new one (with a new id)
 * is created, and the `login` success event is written, naming how the owner signed in.
 */
async function startSession(
  deps: SignInDeps,
  ctx: RequestContext,
  input: { owner: Owner; previousSessionId: string | null; method: SignInMethod; recoveryCodesLeft?: number; passkeyId?: string },
): Promise<NewSession> {
  return runCommand(deps, ctx, async (tx) => {
    if (input.previousSessionId) await deleteSession(tx.db, input.previousSessionId);
    const created = await createSession(tx.db, deps.sessionCookie, {
      ownerId: input.owner.id,
      ip: ctx.ip,
      userAgent: ctx.userAgent,
    });
    await tx.event({
      type: "login",
      outcome: "success",
      details: {
        email: input.owner.email,
        session: created.row.public_id,
        method: input.method,
        ...(input.recoveryCodesLeft !== undefined ? { recovery_codes_left: input.recoveryCodesLeft } : {}),
        ...(input.passkeyId ? { passkey_id: input.passkeyId } : {}),
      },
    });
    return created;
  });
}

/** Sign-out: the session row is deleted (its cookie is refused from now on) with its `logout` event. */
export async function signOut(
  deps: CommandDeps,
  ctx: RequestContext,
  input: { sessionId: string; publicId: string },
): Promise<void> {
  await runCommand(deps, ctx, async (tx) => {
    await deleteSession(tx.db, input.sessionId);
    await tx.event({ type: "logout", outcome: "success", details: { session: input.publicId } });
  });
}
