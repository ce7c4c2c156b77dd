import { z } from "zod";
import type { Owner } from "../../../db/schema";
import { transaction, type Db } from "../db.server";
import type { RequestContext } from "../domain/context";
import { recordEvent } from "../security/events.server";
import { getOwnerByEmail, updateOwnerPassword } from "./owner.server";
import { hashPassword, needsRehash, unmatchableHash, verifyPassword } from "./password.server";
import { createSession, deleteSession, type NewSession, type SessionCookie } from "./session.server";

/** The slots an attempt took from the attempt guard; given back when the attempt must not count. */
export interface AttemptSlots {
  release(): void;
}

export type SignInResult =
  | { ok: true; owner: Owner; session: NewSession }
  | { ok: false; reason: "unknown_email" | "wrong_password" };

/**
 * Sign-in. The attempt was counted by the attempt guard before the form was read.
 * Both failure paths cost one scrypt verification (an unknown email is checked
 * against a hash no password matches), so timing tells nothing; a failure is a
 * `login` failure event and keeps counting. On success the slots are given back (a
 * success never counts), a hash with outdated parameters is upgraded, and in one
 * transaction the session this browser had is ended, a new one (with a new id) is
 * created and the `login` success event is written.
 */
export async function signIn(
  deps: { db: Db; sessionCookie: SessionCookie },
  ctx: RequestContext,
  input: { email: string; password: string; previousSessionId: string | null; attempt: AttemptSlots },
): Promise<SignInResult> {
  const { db } = deps;
  const owner = await getOwnerByEmail(db, input.email);
  const matches = await verifyPassword(input.password, owner?.password_hash ?? unmatchableHash());
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
  input.attempt.release();
  if (needsRehash(owner.password_hash)) {
    await updateOwnerPassword(db, owner.id, await hashPassword(input.password));
  }
  const session = await transaction(db, async (trx) => {
    if (input.previousSessionId) await deleteSession(trx, input.previousSessionId);
    const created = await createSession(trx, deps.sessionCookie, { ownerId: owner.id, ip: ctx.ip, userAgent: ctx.userAgent });
    await recordEvent(trx, ctx, {
      type: "login",
      outcome: "success",
      details: { email: owner.email, session: created.row.public_id },
    });
    return created;
  });
  return { ok: true, owner, session };
}

/** Sign-out: the session row is deleted (its cookie is refused from now on) with its `logout` event. */
export async function signOut(deps: { db: Db }, ctx: RequestContext, input: { sessionId: string; publicId: string }): Promise<void> {
  await transaction(deps.db, async (trx) => {
    await deleteSession(trx, input.sessionId);
    await recordEvent(trx, ctx, { type: "logout", outcome: "success", details: { session: input.publicId } });
  });
}
