import type { Session } from "../../../../db/schema";
import { nowIso, type Db } from "../../db.server";

/**
 * Sudo mode: sensitive owner actions (creating an API token, every change under
 * `/settings/two-factor`, ending the other sessions) need a sign-in or a `/sudo`
 * re-authentication within `SUDO_MAX_AGE` seconds. A session's sign-in time is its
 * `created_at` (sign-in always creates a new session); `/sudo` sets
 * `reauthenticated_at`. The later of the two counts.
 */

/** A re-authentication time this far in the future (a clock stepped back) still counts; further does not. */
export const SUDO_CLOCK_SKEW_MS = 60_000;

type SudoFields = Pick<Session, "created_at" | "reauthenticated_at">;

/** When the session last proved its password (+ second factor): sign-in or `/sudo`, in ms. */
export function lastAuthenticatedAt(session: SudoFields): number {
  const signIn = Date.parse(session.created_at);
  const sudo = session.reauthenticated_at ? Date.parse(session.reauthenticated_at) : Number.NaN;
  return Number.isNaN(sudo) ? signIn : Math.max(signIn, sudo);
}

/** Whether the session is in sudo mode at `now` (ms) with a window of `maxAgeSeconds`. */
export function isSudo(session: SudoFields, now: number, maxAgeSeconds: number): boolean {
  const age = now - lastAuthenticatedAt(session);
  return age >= -SUDO_CLOCK_SKEW_MS && age < maxAgeSeconds * 1000;
}

/** When sudo mode ends for this session (ms), for a page to say so. */
export function sudoExpiresAt(session: SudoFields, maxAgeSeconds: number): number {
  return lastAuthenticatedAt(session) + maxAgeSeconds * 1000;
}

/**
 * Marks the session re-authenticated now (after `/sudo` checked the password and the
 * second factor, or a passkey). Returns false when the session no longer exists.
 */
export async function markReauthenticated(db: Db, session: Pick<Session, "id_hash">, now = Date.now()): Promise<boolean> {
  const result = await db
    .updateTable("sessions")
    .set({ reauthenticated_at: nowIso(now) })
    .where("id_hash", "=", session.id_hash)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
