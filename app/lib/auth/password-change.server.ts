import type { Owner } from "../../../db/schema";
import { runCommand, type CommandDeps } from "../command/command.server";
import type { Db } from "../db.server";
import type { ActorContext } from "../domain/context";
import { recordEvent } from "../security/events.server";
import { getOwnerByEmail, updateOwnerPassword } from "./owner.server";
import type { PasswordDeps } from "./password.server";
import { revokeOtherSessions } from "./session.server";
import type { AttemptSlots } from "./sign-in.server";

/** Never the password or its hash in an audit entry: only that it changed. */
const PASSWORD_CHANGED = { before: "[redacted]", after: "[changed]" } as const;

/**
 * Everything a password opened ends with it (pitfall 36): the sign-in challenges waiting
 * for their second factor (a `login_challenge` cookie opened with the old password can no
 * longer finish), and every pending passkey ceremony (sign-in ones belong to no owner
 * until they verify, so all of them go). Returns how many ended.
 */
async function endOpenChallenges(trx: Db, ownerId: string): Promise<number> {
  const login = await trx.deleteFrom("login_challenges").where("owner_id", "=", ownerId).executeTakeFirst();
  const passkey = await trx
    .deleteFrom("webauthn_challenges")
    .where((eb) => eb.or([eb("owner_id", "=", ownerId), eb("owner_id", "is", null)]))
    .executeTakeFirst();
  return Number(login.numDeletedRows) + Number(passkey.numDeletedRows);
}

export type PasswordChangeResult = { ok: true; otherSessionsEnded: number } | { ok: false; reason: "wrong_current_password" };

/**
 * The signed-in owner changes their password. The attempt was counted by the attempt
 * guard (a stolen session cannot guess the current password at full speed); a wrong
 * current password is a `password_changed` failure event and keeps counting. On
 * success, in one transaction: the new hash, every other session ended (this one,
 * `keepSessionIdHash`, stays), every open sign-in and passkey challenge ended, the
 * success event and the `owner.password_change` audit entry. API tokens are not
 * touched: the page shows the owner the ones still live (`listLiveApiTokens`).
 */
export async function changePassword(
  deps: CommandDeps & PasswordDeps,
  ctx: ActorContext,
  input: { owner: Owner; keepSessionIdHash: string; currentPassword: string; newPassword: string; attempt: AttemptSlots },
): Promise<PasswordChangeResult> {
  const { db } = deps;
  const { owner } = input;
  if (!(await deps.passwords.verify(input.currentPassword, owner.password_hash))) {
    await recordEvent(db, ctx, { type: "password_changed", outcome: "failure", details: { reason: "wrong_current_password" } });
    return { ok: false, reason: "wrong_current_password" };
  }
  input.attempt.release();
  const passwordHash = await deps.passwords.hash(input.newPassword);
  const ended = await runCommand(deps, ctx, async (tx) => {
    const trx = tx.db;
    await updateOwnerPassword(trx, owner.id, passwordHash);
    const n = await revokeOtherSessions(trx, owner.id, input.keepSessionIdHash);
    const challenges = await endOpenChallenges(trx, owner.id);
    await tx.event({
      type: "password_changed",
      outcome: "success",
      details: { via: "web", other_sessions_ended: n, challenges_ended: challenges },
    });
    await tx.audit({
      action: "owner.password_change",
      resourceType: "owner",
      resourceId: owner.id,
      changes: { password: PASSWORD_CHANGED, other_sessions: { before: n, after: 0 } },
    });
    return n;
  });
  return { ok: true, otherSessionsEnded: ended };
}

export type PasswordResetResult = { ok: true; owner: Owner; sessionsEnded: number } | { ok: false; reason: "no_owner" };

/**
 * `owner reset-password` on the CLI (for an owner locked out): in one transaction the
 * new hash, every session ended, every open sign-in and passkey challenge ended, the
 * `password_changed` event (`via: cli`) and the `owner.password_reset` audit entry.
 */
export async function resetPassword(
  deps: CommandDeps & PasswordDeps,
  ctx: ActorContext,
  input: { email: string; newPassword: string },
): Promise<PasswordResetResult> {
  // Hashed before the write lock is taken: scrypt is slow, and no one else should wait for it.
  const passwordHash = await deps.passwords.hash(input.newPassword);
  return runCommand(deps, ctx, async (tx) => {
    const trx = tx.db;
    const owner = await getOwnerByEmail(trx, input.email);
    if (!owner) return { ok: false, reason: "no_owner" } as const;
    await updateOwnerPassword(trx, owner.id, passwordHash);
    const n = await revokeOtherSessions(trx, owner.id, null);
    const challenges = await endOpenChallenges(trx, owner.id);
    await tx.event({
      type: "password_changed",
      outcome: "success",
      details: { via: "cli", sessions_ended: n, challenges_ended: challenges },
    });
    await tx.audit({
      action: "owner.password_reset",
      resourceType: "owner",
      resourceId: owner.id,
      changes: { password: PASSWORD_CHANGED, sessions: { before: n, after: 0 } },
    });
    return { ok: true, owner, sessionsEnded: n } as const;
  });
}
