import { createHash, randomBytes } from "node:crypto";
import { runCommand, type CommandDeps } from "../../command/command.server";
import { nowIso, type Db } from "../../db.server";
import type { RequestContext } from "../../domain/context";
import type { DataKey } from "./data-key.server";
import { verifySecondFactor, type SecondFactorFailure } from "./totp-factor.server";

/**
 * The step between a correct password and the second factor. Its id goes into the
 * `login_challenge` cookie (Path=/login, Max-Age=300); the server keeps a row keyed
 * by the id's hash. It is never a session: another table, another id format
 * (`lc1_` + 256 random bits), another hash label, so no lookup of one can find the
 * other. A challenge dies after `LOGIN_CHALLENGE_MAX_FAILURES` wrong codes or
 * `LOGIN_CHALLENGE_TTL_MS`, and a correct code consumes it.
 */
export const LOGIN_CHALLENGE_TTL_MS = 5 * 60_000;
export const LOGIN_CHALLENGE_MAX_FAILURES = 5;
export const LOGIN_CHALLENGE_PREFIX = "lc1_";
export const LOGIN_CHALLENGE_ID_PATTERN = /^lc1_[A-Za-z0-9_-]{43}$/;

/** The stored form of a challenge id (domain-separated from session id hashes). */
export function hashLoginChallengeId(id: string): string {
  return createHash("sha256").update("preqstation login-challenge v1\n").update(id).digest("hex");
}

/**
 * A new challenge for an owner whose password was just verified. Returns the id for
 * the cookie (never stored) and its expiry. Expired and consumed challenges are
 * deleted on the way, so the table stays small.
 */
export async function createLoginChallenge(
  deps: CommandDeps,
  ctx: RequestContext,
  input: { ownerId: string },
  now = Date.now(),
): Promise<{ id: string; expiresAt: string }> {
  const id = `${LOGIN_CHALLENGE_PREFIX}${randomBytes(32).toString("base64url")}`;
  const expiresAt = nowIso(now + LOGIN_CHALLENGE_TTL_MS);
  await runCommand(deps, ctx, async (tx) => {
    const trx = tx.db;
    await trx
      .deleteFrom("login_challenges")
      .where((eb) => eb.or([eb("expires_at", "<=", nowIso(now)), eb("consumed_at", "is not", null)]))
      .execute();
    await trx
      .insertInto("login_challenges")
      .values({
        id_hash: hashLoginChallengeId(id),
        owner_id: input.ownerId,
        created_at: nowIso(now),
        expires_at: expiresAt,
        failures: 0,
        consumed_at: null,
      })
      .execute();
  });
  return { id, expiresAt };
}

export interface LiveLoginChallenge {
  ownerId: string;
  expiresAt: string;
  /** Wrong codes so far. */
  failures: number;
  attemptsLeft: number;
}

/** The live challenge for an id (to show the code form), or null: unknown, malformed, used, expired or spent. */
export async function findLoginChallenge(
  db: Db,
  id: string | null | undefined,
  now = Date.now(),
): Promise<LiveLoginChallenge | null> {
  if (typeof id !== "string" || !LOGIN_CHALLENGE_ID_PATTERN.test(id)) return null;
  const row = await db
    .selectFrom("login_challenges")
    .selectAll()
    .where("id_hash", "=", hashLoginChallengeId(id))
    .where("consumed_at", "is", null)
    .where("expires_at", ">", nowIso(now))
    .where("failures", "<", LOGIN_CHALLENGE_MAX_FAILURES)
    .executeTakeFirst();
  if (!row) return null;
  return {
    ownerId: row.owner_id,
    expiresAt: row.expires_at,
    failures: row.failures,
    attemptsLeft: LOGIN_CHALLENGE_MAX_FAILURES - row.failures,
  };
}

export type CompleteLoginChallengeResult =
  | { ok: true; ownerId: string; method: "totp" | "recovery_code"; recoveryCodesLeft?: number }
  /** No live challenge: unknown id, already used, expired, or killed by wrong codes. Start over with the password. */
  | { ok: false; reason: "no_challenge" }
  /** A wrong code; `attemptsLeft` is 0 when this one killed the challenge. */
  | { ok: false; reason: SecondFactorFailure; attemptsLeft: number };

/**
 * Completes a challenge with a code (TOTP or recovery code, see verifySecondFactor).
 * In one transaction: on success the challenge is consumed (single use) and the owner
 * returned, for the caller to create the session; on a wrong code its failure count
 * goes up, and the fifth wrong code deletes it. An expired challenge is deleted.
 */
export async function completeLoginChallenge(
  deps: CommandDeps & { dataKey: DataKey },
  ctx: RequestContext,
  input: { id: string | null | undefined; code: string },
  now = Date.now(),
): Promise<CompleteLoginChallengeResult> {
  const { id } = input;
  if (typeof id !== "string" || !LOGIN_CHALLENGE_ID_PATTERN.test(id)) return { ok: false, reason: "no_challenge" };
  const idHash = hashLoginChallengeId(id);
  return runCommand(deps, ctx, async (tx) => {
    const trx = tx.db;
    const row = await trx
      .selectFrom("login_challenges")
      .selectAll()
      .where("id_hash", "=", idHash)
      .where("consumed_at", "is", null)
      .executeTakeFirst();
    if (!row) return { ok: false, reason: "no_challenge" } as const;
    if (row.expires_at <= nowIso(now) || row.failures >= LOGIN_CHALLENGE_MAX_FAILURES) {
      await trx.deleteFrom("login_challenges").where("id_hash", "=", idHash).execute();
      return { ok: false, reason: "no_challenge" } as const;
    }
    const checked = await verifySecondFactor({ ...deps, db: trx }, ctx, { ownerId: row.owner_id, code: input.code }, now);
    if (!checked.ok) {
      const failures = row.failures + 1;
      if (failures >= LOGIN_CHALLENGE_MAX_FAILURES) {
        await trx.deleteFrom("login_challenges").where("id_hash", "=", idHash).execute();
      } else {
        await trx.updateTable("login_challenges").set({ failures }).where("id_hash", "=", idHash).execute();
      }
      return { ok: false, reason: checked.reason, attemptsLeft: LOGIN_CHALLENGE_MAX_FAILURES - failures } as const;
    }
    await trx
      .updateTable("login_challenges")
      .set({ consumed_at: nowIso(now) })
      .where("id_hash", "=", idHash)
      .execute();
    return checked.method === "totp"
      ? ({ ok: true, ownerId: row.owner_id, method: "totp" } as const)
      : ({
          ok: true,
          ownerId: row.owner_id,
          method: "recovery_code",
          recoveryCodesLeft: checked.recoveryCodesLeft,
        } as const);
  });
}
