import type { Owner } from "../../../../db/schema";
import { runCommand, type CommandDeps } from "../../command/command.server";
import { nowIso, type Db } from "../../db.server";
import type { ActorContext, RequestContext } from "../../domain/context";
import type { DataKey } from "./data-key.server";
import { findHash, generateRecoveryCodes, hashRecoveryCode, normalizeRecoveryCode } from "./recovery-codes.server";
import { matchTotpStep, newTotpSecret, normalizeTotpCode, totpQrSvg, totpSecretBase32, totpUri } from "./totp.server";

/**
 * The owner's TOTP factor and its recovery codes: enrolment (a pending secret kept
 * sealed on the server until a first code confirms it), verification with the replay
 * guard, recovery codes, turning it off, and the CLI's lockout reset. Each change
 * commits with its audit entry in one transaction; failed codes and recovery-code
 * uses are security events.
 */

/** How long a started enrolment waits for its first code. */
export const TOTP_ENROLMENT_TTL_MS = 15 * 60_000;

type OwnerRef = Pick<Owner, "id" | "email">;

/** What the TOTP commands need besides the command's own: the key that seals the secrets. */
export type TwoFactorDeps = CommandDeps & { dataKey: DataKey };

export interface TwoFactorStatus {
  totpEnabled: boolean;
  totpEnabledAt: string | null;
  /** Unused recovery codes (0 when TOTP is off). */
  recoveryCodesLeft: number;
  passkeys: number;
  /** An enrolment started and not yet confirmed or expired. */
  enrolmentPending: boolean;
}

/** What `/settings/two-factor` shows and what sign-in asks: is TOTP on, how many codes are left. */
export async function getTwoFactorStatus(db: Db, ownerId: string, now = Date.now()): Promise<TwoFactorStatus> {
  const totp = await db.selectFrom("owner_totp").select("enabled_at").where("owner_id", "=", ownerId).executeTakeFirst();
  const codes = await db
    .selectFrom("recovery_codes")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("owner_id", "=", ownerId)
    .where("used_at", "is", null)
    .executeTakeFirstOrThrow();
  const passkeys = await db
    .selectFrom("passkeys")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("owner_id", "=", ownerId)
    .executeTakeFirstOrThrow();
  const pending = await db
    .selectFrom("totp_enrolments")
    .select("owner_id")
    .where("owner_id", "=", ownerId)
    .where("expires_at", ">", nowIso(now))
    .executeTakeFirst();
  return {
    totpEnabled: totp !== undefined,
    totpEnabledAt: totp?.enabled_at ?? null,
    recoveryCodesLeft: Number(codes.n),
    passkeys: Number(passkeys.n),
    enrolmentPending: pending !== undefined,
  };
}

/** Whether sign-in with a password needs a code. */
export async function isTotpEnabled(db: Db, ownerId: string): Promise<boolean> {
  const row = await db.selectFrom("owner_totp").select("owner_id").where("owner_id", "=", ownerId).executeTakeFirst();
  return row !== undefined;
}

export interface TotpEnrolment {
  /** `otpauth://totp/PreqStation:<email>?secret=<BASE32>&issuer=PreqStation` (contract §6). */
  uri: string;
  /** The secret alone, for typing into an app by hand. */
  secretBase32: string;
  /** The URI as an SVG QR code, rendered on the server. */
  qrSvg: string;
  expiresAt: string;
}

export type StartEnrolmentResult = ({ ok: true } & TotpEnrolment) | { ok: false; reason: "already_enabled" };

/**
 * Starts (or restarts) TOTP enrolment: a new random secret, kept sealed in
 * `totp_enrolments` (one per owner; a restart replaces it) until `confirmTotp`, bound
 * to the session that started it (`sessionIdHash`): no other session is shown the
 * secret or may confirm it. The page needs sudo mode for this (contract §6); that
 * check is the caller's.
 */
export async function startTotpEnrolment(
  deps: TwoFactorDeps,
  ctx: ActorContext,
  input: { owner: OwnerRef; sessionIdHash: string },
  now = Date.now(),
): Promise<StartEnrolmentResult> {
  const { dataKey } = deps;
  const secret = newTotpSecret();
  const expiresAt = nowIso(now + TOTP_ENROLMENT_TTL_MS);
  const started = await runCommand(deps, ctx, async (tx) => {
    const trx = tx.db;
    if (await isTotpEnabled(trx, input.owner.id)) return false;
    const row = {
      owner_id: input.owner.id,
      secret_sealed: dataKey.seal("totp-enrolment", input.owner.id, secret),
      session_id_hash: input.sessionIdHash,
      created_at: nowIso(now),
      expires_at: expiresAt,
    };
    await trx
      .insertInto("totp_enrolments")
      .values(row)
      .onConflict((oc) => oc.column("owner_id").doUpdateSet(row))
      .execute();
    return true;
  });
  if (!started) return { ok: false, reason: "already_enabled" };
  return { ok: true, ...(await describeEnrolment(input.owner.email, secret, expiresAt)) };
}

/**
 * The enrolment in progress that `sessionIdHash` started (to show its QR code again
 * after a wrong code), or null. The page asks only in sudo mode (pitfall 35: a secret
 * sudo guarded at creation is not readable by a session out of sudo mode).
 */
export async function getPendingTotpEnrolment(
  db: Db,
  dataKey: DataKey,
  input: { owner: OwnerRef; sessionIdHash: string; now?: number },
): Promise<TotpEnrolment | null> {
  const row = await db
    .selectFrom("totp_enrolments")
    .selectAll()
    .where("owner_id", "=", input.owner.id)
    .where("session_id_hash", "=", input.sessionIdHash)
    .where("expires_at", ">", nowIso(input.now ?? Date.now()))
    .executeTakeFirst();
  if (!row) return null;
  const secret = dataKey.open("totp-enrolment", input.owner.id, row.secret_sealed);
  return describeEnrolment(input.owner.email, secret, row.expires_at);
}

async function describeEnrolment(email: string, secret: Uint8Array, expiresAt: string): Promise<TotpEnrolment> {
  const uri = totpUri(email, secret);
  return { uri, secretBase32: totpSecretBase32(secret), qrSvg: await totpQrSvg(uri), expiresAt };
}

export type ConfirmTotpResult =
  { ok: true; recoveryCodes: string[] } | { ok: false; reason: "already_enabled" | "no_enrolment" | "wrong_code" };

/**
 * Confirms the enrolment this session started (`sessionIdHash`) with a code from the new secret. In one transaction: TOTP on
 * (the confirming code's step is already "used", so it cannot sign in afterwards),
 * the pending row gone, a fresh set of 10 recovery codes (any old set deleted), and
 * the `owner.2fa_enable` audit entry. The codes are returned once, here, and never
 * again. A wrong code is a `second_factor` failure event and leaves the enrolment.
 */
export async function confirmTotp(
  deps: TwoFactorDeps,
  ctx: ActorContext,
  input: { owner: OwnerRef; sessionIdHash: string; code: string },
  now = Date.now(),
): Promise<ConfirmTotpResult> {
  const { dataKey } = deps;
  const ownerId = input.owner.id;
  return runCommand(deps, ctx, async (tx) => {
    const trx = tx.db;
    if (await isTotpEnabled(trx, ownerId)) return { ok: false, reason: "already_enabled" } as const;
    const pending = await trx
      .selectFrom("totp_enrolments")
      .selectAll()
      .where("owner_id", "=", ownerId)
      // Only the session that started it (item 2 of issue 22): another one has no enrolment to confirm.
      .where("session_id_hash", "=", input.sessionIdHash)
      .where("expires_at", ">", nowIso(now))
      .executeTakeFirst();
    if (!pending) return { ok: false, reason: "no_enrolment" } as const;
    const secret = dataKey.open("totp-enrolment", ownerId, pending.secret_sealed);
    const step = matchTotpStep(secret, input.code, now, null);
    if (step === null) {
      await tx.event(
        { type: "second_factor", outcome: "failure", details: { reason: "wrong_code", during: "enrolment" } },
        { now },
      );
      return { ok: false, reason: "wrong_code" } as const;
    }
    await trx.deleteFrom("totp_enrolments").where("owner_id", "=", ownerId).execute();
    await trx
      .insertInto("owner_totp")
      .values({
        owner_id: ownerId,
        secret_sealed: dataKey.seal("totp-secret", ownerId, secret),
        enabled_at: nowIso(now),
        last_used_step: step,
      })
      .execute();
    const recoveryCodes = await replaceRecoveryCodes(trx, dataKey, ownerId, now);
    await tx.audit(
      {
        action: "owner.2fa_enable",
        resourceType: "owner",
        resourceId: ownerId,
        changes: {
          totp: { before: "off", after: "on" },
          recovery_codes: { before: null, after: recoveryCodes.length },
        },
      },
      { now },
    );
    return { ok: true, recoveryCodes } as const;
  });
}

async function replaceRecoveryCodes(trx: Db, dataKey: DataKey, ownerId: string, now: number): Promise<string[]> {
  await trx.deleteFrom("recovery_codes").where("owner_id", "=", ownerId).execute();
  const codes = generateRecoveryCodes();
  await trx
    .insertInto("recovery_codes")
    .values(
      codes.map((code) => ({
        owner_id: ownerId,
        code_hash: hashRecoveryCode(dataKey, ownerId, code),
        created_at: nowIso(now),
        used_at: null,
      })),
    )
    .execute();
  return codes;
}

export type RegenerateResult = { ok: true; recoveryCodes: string[] } | { ok: false; reason: "not_enabled" };

/**
 * A new set of 10 recovery codes, shown once; every code of the old set (used or not)
 * stops working in the same transaction, with the `owner.recovery_codes_regenerate`
 * audit entry. Needs sudo mode (the caller's check).
 */
export async function regenerateRecoveryCodes(
  deps: TwoFactorDeps,
  ctx: ActorContext,
  input: { ownerId: string },
  now = Date.now(),
): Promise<RegenerateResult> {
  const { dataKey } = deps;
  return runCommand(deps, ctx, async (tx) => {
    const trx = tx.db;
    if (!(await isTotpEnabled(trx, input.ownerId))) return { ok: false, reason: "not_enabled" } as const;
    const before = await unusedRecoveryCodes(trx, input.ownerId);
    const recoveryCodes = await replaceRecoveryCodes(trx, dataKey, input.ownerId, now);
    await tx.audit(
      {
        action: "owner.recovery_codes_regenerate",
        resourceType: "owner",
        resourceId: input.ownerId,
        changes: { recovery_codes_left: { before, after: recoveryCodes.length } },
      },
      { now },
    );
    return { ok: true, recoveryCodes } as const;
  });
}

async function unusedRecoveryCodes(db: Db, ownerId: string): Promise<number> {
  const row = await db
    .selectFrom("recovery_codes")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("owner_id", "=", ownerId)
    .where("used_at", "is", null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export type SecondFactorFailure = "not_enabled" | "malformed" | "wrong_code" | "replayed";

export type VerifySecondFactorResult =
  | { ok: true; method: "totp" }
  | { ok: true; method: "recovery_code"; recoveryCodesLeft: number }
  | { ok: false; reason: SecondFactorFailure };

/**
 * Checks a code typed in the `code` field: six digits are a TOTP code, anything of
 * the `xxxxx-xxxxx` shape a recovery code.
 *
 * - TOTP: accepted for the current 30-second step or one either side, and only for a
 *   step after the last one accepted; the accepted step is stored in the same
 *   transaction (a conditional update, so two requests racing with one code cannot
 *   both pass). A code for that step or an earlier one is `replayed`.
 * - Recovery code: compared as a keyed hash, in constant time against every unused
 *   code; marked used in the same transaction, so it works exactly once. Its use is a
 *   `recovery_code_used` event (with how many are left).
 *
 * Every refusal is a `second_factor` failure event. Counting refusals toward the
 * sign-in throttle (contract §6) is the caller's, as for wrong passwords.
 */
export async function verifySecondFactor(
  deps: TwoFactorDeps,
  ctx: RequestContext,
  input: { ownerId: string; code: string },
  now = Date.now(),
): Promise<VerifySecondFactorResult> {
  const { dataKey } = deps;
  const { ownerId } = input;
  return runCommand(deps, ctx, async (tx) => {
    const trx = tx.db;
    const fail = async (reason: SecondFactorFailure, kind: "totp" | "recovery_code" | null) => {
      await tx.event({ type: "second_factor", outcome: "failure", details: { reason, ...(kind ? { kind } : {}) } }, { now });
      return { ok: false, reason } as const;
    };
    const totp = await trx.selectFrom("owner_totp").selectAll().where("owner_id", "=", ownerId).executeTakeFirst();
    if (!totp) return fail("not_enabled", null);

    if (normalizeTotpCode(input.code) !== null) {
      const secret = dataKey.open("totp-secret", ownerId, totp.secret_sealed);
      const step = matchTotpStep(secret, input.code, now, totp.last_used_step);
      if (step === null) {
        const replay = totp.last_used_step !== null && matchTotpStep(secret, input.code, now, null) !== null;
        return fail(replay ? "replayed" : "wrong_code", "totp");
      }
      const moved = await trx
        .updateTable("owner_totp")
        .set({ last_used_step: step })
        .where("owner_id", "=", ownerId)
        .where((eb) => eb.or([eb("last_used_step", "is", null), eb("last_used_step", "<", step)]))
        .executeTakeFirst();
      if (moved.numUpdatedRows === 0n) return fail("replayed", "totp");
      return { ok: true, method: "totp" } as const;
    }

    const code = normalizeRecoveryCode(input.code);
    if (code === null) return fail("malformed", null);
    const unused = await trx
      .selectFrom("recovery_codes")
      .select(["id", "code_hash"])
      .where("owner_id", "=", ownerId)
      .where("used_at", "is", null)
      .orderBy("id")
      .execute();
    const index = findHash(
      unused.map((r) => r.code_hash),
      hashRecoveryCode(dataKey, ownerId, code),
    );
    if (index === -1) return fail("wrong_code", "recovery_code");
    const used = await trx
      .updateTable("recovery_codes")
      .set({ used_at: nowIso(now) })
      .where("id", "=", unused[index]!.id)
      .where("used_at", "is", null)
      .executeTakeFirst();
    if (used.numUpdatedRows === 0n) return fail("wrong_code", "recovery_code");
    const recoveryCodesLeft = unused.length - 1;
    await tx.event(
      { type: "recovery_code_used", outcome: "success", details: { recovery_codes_left: recoveryCodesLeft } },
      { now },
    );
    return { ok: true, method: "recovery_code", recoveryCodesLeft } as const;
  });
}

export type DisableTotpResult = { ok: true; method: "totp" | "recovery_code" } | { ok: false; reason: SecondFactorFailure };

/**
 * Turns TOTP off with a current TOTP code or a recovery code (and, at the page, sudo
 * mode). In one transaction: the code checked (and used up), TOTP, any pending
 * enrolment and every recovery code deleted, and the `owner.2fa_disable` audit entry.
 * Passkeys stay: they are a separate way in, removed one by one.
 */
export async function disableTotp(
  deps: TwoFactorDeps,
  ctx: ActorContext,
  input: { ownerId: string; code: string },
  now = Date.now(),
): Promise<DisableTotpResult> {
  return runCommand(deps, ctx, async (tx) => {
    const trx = tx.db;
    const checked = await verifySecondFactor({ ...deps, db: trx }, ctx, { ownerId: input.ownerId, code: input.code }, now);
    if (!checked.ok) return checked;
    const codesLeft = await unusedRecoveryCodes(trx, input.ownerId);
    await trx.deleteFrom("owner_totp").where("owner_id", "=", input.ownerId).execute();
    await trx.deleteFrom("totp_enrolments").where("owner_id", "=", input.ownerId).execute();
    await trx.deleteFrom("recovery_codes").where("owner_id", "=", input.ownerId).execute();
    await tx.audit(
      {
        action: "owner.2fa_disable",
        resourceType: "owner",
        resourceId: input.ownerId,
        changes: {
          totp: { before: "on", after: "off" },
          recovery_codes_left: { before: codesLeft, after: 0 },
          confirmed_with: { before: null, after: checked.method },
        },
      },
      { now },
    );
    return { ok: true, method: checked.method } as const;
  });
}

export interface ResetResult {
  totpRemoved: boolean;
  recoveryCodesRemoved: number;
  passkeysRemoved: number;
  sessionsEnded: number;
}

/**
 * Lockout recovery (`npx preqstation owner 2fa reset --email E`): removes TOTP, any
 * pending enrolment, every recovery code, every passkey and pending WebAuthn or
 * sign-in challenge, and ends every session, with the `owner.2fa_reset` audit entry,
 * all in one transaction. The password is unchanged.
 */
export async function resetTwoFactor(
  deps: CommandDeps,
  ctx: ActorContext,
  input: { ownerId: string },
  now = Date.now(),
): Promise<ResetResult> {
  const { ownerId } = input;
  return runCommand(deps, ctx, async (tx) => {
    const trx = tx.db;
    const totp = await trx.deleteFrom("owner_totp").where("owner_id", "=", ownerId).executeTakeFirst();
    await trx.deleteFrom("totp_enrolments").where("owner_id", "=", ownerId).execute();
    const codes = await trx.deleteFrom("recovery_codes").where("owner_id", "=", ownerId).executeTakeFirst();
    const passkeys = await trx.deleteFrom("passkeys").where("owner_id", "=", ownerId).executeTakeFirst();
    await trx.deleteFrom("webauthn_challenges").where("owner_id", "=", ownerId).execute();
    await trx.deleteFrom("login_challenges").where("owner_id", "=", ownerId).execute();
    const sessions = await trx.deleteFrom("sessions").where("owner_id", "=", ownerId).executeTakeFirst();
    const result: ResetResult = {
      totpRemoved: totp.numDeletedRows > 0n,
      recoveryCodesRemoved: Number(codes.numDeletedRows),
      passkeysRemoved: Number(passkeys.numDeletedRows),
      sessionsEnded: Number(sessions.numDeletedRows),
    };
    await tx.audit(
      {
        action: "owner.2fa_reset",
        resourceType: "owner",
        resourceId: ownerId,
        changes: {
          totp: { before: result.totpRemoved ? "on" : "off", after: "off" },
          recovery_codes: { before: result.recoveryCodesRemoved, after: 0 },
          passkeys: { before: result.passkeysRemoved, after: 0 },
          sessions: { before: result.sessionsEnded, after: 0 },
        },
      },
      { now },
    );
    return result;
  });
}
