import { randomBytes } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import type { Owner } from "../../db/schema";
import { verifyAuditChain, type AuditContext } from "../../app/lib/audit/log.server";
import { createOwner } from "../../app/lib/auth/owner.server";
import { createSession, createSessionCookie, touchSession } from "../../app/lib/auth/session.server";
import { dataKeyFromBytes } from "../../app/lib/auth/two-factor/data-key.server";
import type { EventSource } from "../support/auth-cmd";
import {
  completeLoginChallenge,
  createLoginChallenge,
  findLoginChallenge,
  LOGIN_CHALLENGE_ID_PATTERN,
} from "../../app/lib/auth/two-factor/login-challenge.server";
import { isSudo, markReauthenticated } from "../../app/lib/auth/two-factor/sudo.server";
import {
  confirmTotp,
  disableTotp,
  getPendingTotpEnrolment,
  getTwoFactorStatus,
  regenerateRecoveryCodes,
  resetTwoFactor,
  startTotpEnrolment,
  verifySecondFactor,
} from "../../app/lib/auth/two-factor/totp-factor.server";
import { totpCodeAt, totpStep } from "../../app/lib/auth/two-factor/totp.server";
import { loadConfig } from "../../app/lib/env.server";
import type { OpenedDatabase } from "../../app/lib/db.server";
import { testAuditSigner } from "../support/audit-key";
import { cmd, testDatabase } from "../support/kit";
import { authCmd } from "../support/auth-cmd";

const audit: AuditContext = {
  actor: { type: "owner", id: "owner", label: "owner@example.com" },
  ip: "192.0.2.10",
  userAgent: "Firefox",
  requestId: "req-1",
  signer: testAuditSigner,
};
const source: EventSource = { ip: "192.0.2.10", userAgent: "Firefox", path: "/login" };
const T0 = Date.parse("2026-12-01T12:00:00.000Z");
const dataKey = dataKeyFromBytes(randomBytes(32));

let opened: OpenedDatabase;
let owner: Owner;
beforeEach(async () => {
  opened = await testDatabase();
  owner = await createOwner(opened.db, { email: "owner@example.com", passwordHash: "unused" });
});

/** The id hash of the session enrolling (an enrolment is bound to it). */
const SESSION = "a".repeat(64);

/** Enrols TOTP at T0 and returns the raw secret and the recovery codes. */
async function enrol(now = T0) {
  const started = await startTotpEnrolment(...authCmd(opened.db, { dataKey }), { owner, sessionIdHash: SESSION }, now);
  if (!started.ok) throw new Error("enrolment did not start");
  const secret = Buffer.from(base32Decode(started.secretBase32));
  const confirmed = await confirmTotp(
    ...authCmd(opened.db, { audit, source, dataKey }),
    { owner, sessionIdHash: SESSION, code: totpCodeAt(secret, totpStep(now)) },
    now,
  );
  if (!confirmed.ok) throw new Error(`confirm failed: ${confirmed.reason}`);
  return { secret, recoveryCodes: confirmed.recoveryCodes, uri: started.uri };
}

function base32Decode(text: string): Uint8Array {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of text) bits += alphabet.indexOf(ch).toString(2).padStart(5, "0");
  const out: number[] = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) out.push(parseInt(bits.slice(i, i + 8), 2));
  return new Uint8Array(out);
}

const events = () => opened.db.selectFrom("security_events").selectAll().orderBy("id").execute();
const auditActions = async () =>
  (await opened.db.selectFrom("audit_log").select("action").orderBy("seq").execute()).map((r) => r.action);

describe("TOTP enrolment", () => {
  it("keeps the pending secret sealed on the server and enables TOTP on a correct code, with 10 recovery codes once", async () => {
    const started = await startTotpEnrolment(...authCmd(opened.db, { dataKey }), { owner, sessionIdHash: SESSION }, T0);
    expect(started.ok).toBe(true);
    if (!started.ok) return;
    expect(started.uri).toMatch(/^otpauth:\/\/totp\/PreqStation:owner@example\.com\?secret=[A-Z2-7]{32}&issuer=PreqStation$/);
    expect(started.qrSvg).toMatch(/^<svg/);
    const pending = await opened.db.selectFrom("totp_enrolments").selectAll().executeTakeFirstOrThrow();
    expect(pending.secret_sealed).toMatch(/^v1\./);
    expect(pending.secret_sealed).not.toContain(started.secretBase32);
    expect((await getPendingTotpEnrolment(opened.db, dataKey, { owner, sessionIdHash: SESSION, now: T0 }))?.uri).toBe(
      started.uri,
    );

    const secret = base32Decode(started.secretBase32);
    const wrong = await confirmTotp(
      ...authCmd(opened.db, { audit, source, dataKey }),
      { owner, sessionIdHash: SESSION, code: "000000" },
      T0,
    );
    expect(wrong).toEqual({ ok: false, reason: "wrong_code" });
    expect((await events()).at(-1)).toMatchObject({ type: "second_factor", outcome: "failure" });

    const confirmed = await confirmTotp(
      ...authCmd(opened.db, { audit, source, dataKey }),
      { owner, sessionIdHash: SESSION, code: totpCodeAt(secret, totpStep(T0)) },
      T0,
    );
    expect(confirmed.ok).toBe(true);
    if (!confirmed.ok) return;
    expect(confirmed.recoveryCodes).toHaveLength(10);
    for (const c of confirmed.recoveryCodes) expect(c).toMatch(/^[a-z0-9]{5}-[a-z0-9]{5}$/);
    const stored = await opened.db.selectFrom("recovery_codes").select("code_hash").execute();
    expect(stored).toHaveLength(10);
    for (const { code_hash } of stored) expect(confirmed.recoveryCodes).not.toContain(code_hash);
    expect(await opened.db.selectFrom("totp_enrolments").selectAll().execute()).toHaveLength(0);
    expect(await getTwoFactorStatus(opened.db, owner.id, T0)).toMatchObject({ totpEnabled: true, recoveryCodesLeft: 10 });
    expect(await auditActions()).toEqual(["owner.2fa_enable"]);
    expect(await startTotpEnrolment(...authCmd(opened.db, { dataKey }), { owner, sessionIdHash: SESSION }, T0)).toEqual({
      ok: false,
      reason: "already_enabled",
    });
  });

  it("refuses to confirm an enrolment that expired", async () => {
    const started = await startTotpEnrolment(...authCmd(opened.db, { dataKey }), { owner, sessionIdHash: SESSION }, T0);
    if (!started.ok) throw new Error();
    const later = T0 + 16 * 60_000;
    const code = totpCodeAt(base32Decode(started.secretBase32), totpStep(later));
    expect(
      await confirmTotp(...authCmd(opened.db, { audit, source, dataKey }), { owner, sessionIdHash: SESSION, code }, later),
    ).toEqual({
      ok: false,
      reason: "no_enrolment",
    });
  });

  it("does not let the confirming code be used again to sign in", async () => {
    const { secret } = await enrol();
    const r = await verifySecondFactor(
      ...authCmd(opened.db, { source, dataKey }),
      { ownerId: owner.id, code: totpCodeAt(secret, totpStep(T0)) },
      T0 + 5_000,
    );
    expect(r).toEqual({ ok: false, reason: "replayed" });
  });
});

describe("verifying a code", () => {
  it("accepts a TOTP code once: the same code again in its window is refused as a replay", async () => {
    const { secret } = await enrol();
    const now = T0 + 60_000;
    const code = totpCodeAt(secret, totpStep(now));
    expect(await verifySecondFactor(...authCmd(opened.db, { source, dataKey }), { ownerId: owner.id, code }, now)).toEqual({
      ok: true,
      method: "totp",
    });
    expect(
      await verifySecondFactor(...authCmd(opened.db, { source, dataKey }), { ownerId: owner.id, code }, now + 10_000),
    ).toEqual({
      ok: false,
      reason: "replayed",
    });
    // An earlier step's code, still inside the ±1 window, is refused too.
    const earlier = totpCodeAt(secret, totpStep(now) - 1);
    expect(
      (await verifySecondFactor(...authCmd(opened.db, { source, dataKey }), { ownerId: owner.id, code: earlier }, now)).ok,
    ).toBe(false);
    // The next step's code works.
    const next = totpCodeAt(secret, totpStep(now) + 1);
    expect(
      (await verifySecondFactor(...authCmd(opened.db, { source, dataKey }), { ownerId: owner.id, code: next }, now + 30_000)).ok,
    ).toBe(true);
    const failures = (await events()).filter((e) => e.type === "second_factor" && e.outcome === "failure");
    expect(failures.map((e) => JSON.parse(e.details).reason)).toEqual(["replayed", "replayed"]);
  });

  it("stores the TOTP secret sealed, never in plain or base32", async () => {
    const { secret } = await enrol();
    const row = await opened.db.selectFrom("owner_totp").selectAll().executeTakeFirstOrThrow();
    expect(row.secret_sealed).toMatch(/^v1\./);
    expect(row.secret_sealed).not.toContain(Buffer.from(secret).toString("base64url"));
    expect(dataKey.open("totp-secret", owner.id, row.secret_sealed)).toEqual(Buffer.from(secret));
  });

  it("accepts each recovery code exactly once, and records its use", async () => {
    const { recoveryCodes } = await enrol();
    const code = recoveryCodes[3]!;
    const first = await verifySecondFactor(
      ...authCmd(opened.db, { source, dataKey }),
      { ownerId: owner.id, code: code.toUpperCase() },
      T0,
    );
    expect(first).toEqual({ ok: true, method: "recovery_code", recoveryCodesLeft: 9 });
    expect(await verifySecondFactor(...authCmd(opened.db, { source, dataKey }), { ownerId: owner.id, code }, T0)).toEqual({
      ok: false,
      reason: "wrong_code",
    });
    const used = (await events()).filter((e) => e.type === "recovery_code_used");
    expect(used).toHaveLength(1);
    expect(JSON.parse(used[0]!.details)).toEqual({ recovery_codes_left: 9 });
    expect((await getTwoFactorStatus(opened.db, owner.id)).recoveryCodesLeft).toBe(9);
  });

  it("refuses a wrong or malformed code and when TOTP is off, each as a failure event", async () => {
    expect(
      await verifySecondFactor(...authCmd(opened.db, { source, dataKey }), { ownerId: owner.id, code: "123456" }, T0),
    ).toEqual({
      ok: false,
      reason: "not_enabled",
    });
    const { secret } = await enrol();
    const wrong = String((Number(totpCodeAt(secret, totpStep(T0 + 90_000))) + 1) % 1_000_000).padStart(6, "0");
    expect(
      (await verifySecondFactor(...authCmd(opened.db, { source, dataKey }), { ownerId: owner.id, code: wrong }, T0 + 90_000)).ok,
    ).toBe(false);
    expect(
      await verifySecondFactor(...authCmd(opened.db, { source, dataKey }), { ownerId: owner.id, code: "zzzzz-zzzzz" }, T0),
    ).toEqual({
      ok: false,
      reason: "wrong_code",
    });
    expect(
      await verifySecondFactor(...authCmd(opened.db, { source, dataKey }), { ownerId: owner.id, code: "hello" }, T0),
    ).toEqual({
      ok: false,
      reason: "malformed",
    });
    expect((await events()).filter((e) => e.type === "second_factor" && e.outcome === "failure")).toHaveLength(4);
  });

  it("refuses the codes under another data key (the secret does not open)", async () => {
    const { secret } = await enrol();
    const other = dataKeyFromBytes(randomBytes(32));
    await expect(
      verifySecondFactor(
        ...authCmd(opened.db, { source, dataKey: other }),
        { ownerId: owner.id, code: totpCodeAt(secret, totpStep(T0 + 60_000)) },
        T0 + 60_000,
      ),
    ).rejects.toThrow(/does not open/);
  });
});

describe("recovery codes: regenerate, disable, reset", () => {
  it("regenerating gives a new set of 10 and the old set stops working", async () => {
    const { recoveryCodes: old } = await enrol();
    const r = await regenerateRecoveryCodes(...authCmd(opened.db, { audit, dataKey }), { ownerId: owner.id }, T0);
    if (!r.ok) throw new Error();
    expect(r.recoveryCodes).toHaveLength(10);
    expect(r.recoveryCodes.filter((c) => old.includes(c))).toEqual([]);
    expect(
      (await verifySecondFactor(...authCmd(opened.db, { source, dataKey }), { ownerId: owner.id, code: old[0]! }, T0)).ok,
    ).toBe(false);
    expect(
      (await verifySecondFactor(...authCmd(opened.db, { source, dataKey }), { ownerId: owner.id, code: r.recoveryCodes[0]! }, T0))
        .ok,
    ).toBe(true);
    expect(await auditActions()).toEqual(["owner.2fa_enable", "owner.recovery_codes_regenerate"]);
  });

  it("disabling needs a current code (TOTP or recovery) and deletes TOTP and the recovery codes", async () => {
    const { recoveryCodes } = await enrol();
    const bad = await disableTotp(
      ...authCmd(opened.db, { audit, source, dataKey }),
      { ownerId: owner.id, code: "zzzzz-zzzzz" },
      T0,
    );
    expect(bad.ok).toBe(false);
    expect((await getTwoFactorStatus(opened.db, owner.id)).totpEnabled).toBe(true);
    const ok = await disableTotp(
      ...authCmd(opened.db, { audit, source, dataKey }),
      { ownerId: owner.id, code: recoveryCodes[0]! },
      T0,
    );
    expect(ok).toEqual({ ok: true, method: "recovery_code" });
    expect(await getTwoFactorStatus(opened.db, owner.id)).toMatchObject({ totpEnabled: false, recoveryCodesLeft: 0 });
    expect(await opened.db.selectFrom("recovery_codes").selectAll().execute()).toHaveLength(0);
    expect(await auditActions()).toEqual(["owner.2fa_enable", "owner.2fa_disable"]);
  });

  it("reset removes TOTP, recovery codes and passkeys, ends every session, and is audited", async () => {
    await enrol();
    const sc = createSessionCookie(loadConfig({ DATABASE_PATH: ":memory:" }));
    const s = await createSession(opened.db, sc, { ownerId: owner.id, ip: "192.0.2.1", userAgent: "x" });
    await opened.db
      .insertInto("passkeys")
      .values({
        id: "pk1",
        owner_id: owner.id,
        credential_id: "cred",
        public_key: "key",
        counter: 0,
        transports: "[]",
        name: "Laptop",
        aaguid: "00000000-0000-0000-0000-000000000000",
        device_type: "multiDevice",
        backed_up: 1,
        created_at: new Date(T0).toISOString(),
        last_used_at: null,
      })
      .execute();
    const cliAudit: AuditContext = { ...audit, actor: { type: "cli", id: "cli", label: "cli (root@host)" } };
    const r = await resetTwoFactor(...cmd(opened.db, cliAudit), { ownerId: owner.id }, T0);
    expect(r).toEqual({ totpRemoved: true, recoveryCodesRemoved: 10, passkeysRemoved: 1, sessionsEnded: 1 });
    expect(await touchSession(opened.db, sc, s.id, { ip: "192.0.2.1" })).toBeNull();
    expect(await getTwoFactorStatus(opened.db, owner.id)).toMatchObject({
      totpEnabled: false,
      recoveryCodesLeft: 0,
      passkeys: 0,
    });
    const entry = await opened.db.selectFrom("audit_log").selectAll().orderBy("seq", "desc").executeTakeFirstOrThrow();
    expect(entry).toMatchObject({ action: "owner.2fa_reset", actor_type: "cli", resource_type: "owner", resource_id: owner.id });
    expect(JSON.parse(entry.changes)).toMatchObject({ passkeys: { before: 1, after: 0 }, sessions: { before: 1, after: 0 } });
    expect((await verifyAuditChain(opened.db, testAuditSigner)).ok).toBe(true);
  });
});

describe("the login challenge", () => {
  it("is completed once by a correct code and then is gone", async () => {
    const { secret } = await enrol();
    const { id } = await createLoginChallenge(...cmd(opened.db), { ownerId: owner.id }, T0);
    expect(id).toMatch(LOGIN_CHALLENGE_ID_PATTERN);
    const now = T0 + 60_000;
    const code = totpCodeAt(secret, totpStep(now));
    expect(await completeLoginChallenge(...authCmd(opened.db, { source, dataKey }), { id, code }, now)).toEqual({
      ok: true,
      ownerId: owner.id,
      method: "totp",
    });
    expect(await findLoginChallenge(opened.db, id, now)).toBeNull();
    const next = totpCodeAt(secret, totpStep(now) + 1);
    expect(await completeLoginChallenge(...authCmd(opened.db, { source, dataKey }), { id, code: next }, now + 30_000)).toEqual({
      ok: false,
      reason: "no_challenge",
    });
  });

  it("dies after 5 wrong codes: the 6th attempt, even with the right code, finds no challenge", async () => {
    const { secret } = await enrol();
    const { id } = await createLoginChallenge(...cmd(opened.db), { ownerId: owner.id }, T0);
    const now = T0 + 60_000;
    for (let i = 1; i <= 5; i++) {
      const r = await completeLoginChallenge(...authCmd(opened.db, { source, dataKey }), { id, code: "zzzzz-zzzzz" }, now);
      expect(r).toEqual({ ok: false, reason: "wrong_code", attemptsLeft: 5 - i });
    }
    expect(await findLoginChallenge(opened.db, id, now)).toBeNull();
    const right = totpCodeAt(secret, totpStep(now));
    expect(await completeLoginChallenge(...authCmd(opened.db, { source, dataKey }), { id, code: right }, now)).toEqual({
      ok: false,
      reason: "no_challenge",
    });
    expect(await opened.db.selectFrom("login_challenges").selectAll().execute()).toHaveLength(0);
  });

  it("dies after 5 minutes", async () => {
    const { secret } = await enrol();
    const { id } = await createLoginChallenge(...cmd(opened.db), { ownerId: owner.id }, T0);
    const late = T0 + 5 * 60_000;
    expect(await findLoginChallenge(opened.db, id, late - 1)).not.toBeNull();
    expect(await findLoginChallenge(opened.db, id, late)).toBeNull();
    const code = totpCodeAt(secret, totpStep(late));
    expect(await completeLoginChallenge(...authCmd(opened.db, { source, dataKey }), { id, code }, late)).toEqual({
      ok: false,
      reason: "no_challenge",
    });
  });

  it("is never a session: its id is refused by the session lookup, and a session id is refused as a challenge", async () => {
    await enrol();
    const sc = createSessionCookie(loadConfig({ DATABASE_PATH: ":memory:" }));
    const { id } = await createLoginChallenge(...cmd(opened.db), { ownerId: owner.id }, T0);
    expect(await touchSession(opened.db, sc, id, { ip: "192.0.2.1" })).toBeNull();
    expect(await touchSession(opened.db, sc, id.slice(4), { ip: "192.0.2.1" })).toBeNull();
    const session = await createSession(opened.db, sc, { ownerId: owner.id, ip: "192.0.2.1", userAgent: "x" });
    expect(await findLoginChallenge(opened.db, session.id, T0)).toBeNull();
    expect(await findLoginChallenge(opened.db, `lc1_${session.id}`, T0)).toBeNull();
    expect(await opened.db.selectFrom("sessions").select("id_hash").execute()).toHaveLength(1);
  });

  it("completes with a recovery code, using it up", async () => {
    const { recoveryCodes } = await enrol();
    const { id } = await createLoginChallenge(...cmd(opened.db), { ownerId: owner.id }, T0);
    expect(await completeLoginChallenge(...authCmd(opened.db, { source, dataKey }), { id, code: recoveryCodes[0]! }, T0)).toEqual(
      {
        ok: true,
        ownerId: owner.id,
        method: "recovery_code",
        recoveryCodesLeft: 9,
      },
    );
    const again = await createLoginChallenge(...cmd(opened.db), { ownerId: owner.id }, T0);
    expect(
      (await completeLoginChallenge(...authCmd(opened.db, { source, dataKey }), { id: again.id, code: recoveryCodes[0]! }, T0))
        .ok,
    ).toBe(false);
  });
});

describe("sudo mode", () => {
  it("holds for SUDO_MAX_AGE after sign-in, then after /sudo marks the session re-authenticated", async () => {
    const sc = createSessionCookie(loadConfig({ DATABASE_PATH: ":memory:" }));
    const { row } = await createSession(opened.db, sc, { ownerId: owner.id, ip: "192.0.2.1", userAgent: "x" }, T0);
    expect(isSudo(row, T0 + 899_999, 900)).toBe(true);
    expect(isSudo(row, T0 + 900_000, 900)).toBe(false);
    expect(await markReauthenticated(opened.db, row, T0 + 2_000_000)).toBe(true);
    const stored = await opened.db.selectFrom("sessions").selectAll().executeTakeFirstOrThrow();
    expect(stored.reauthenticated_at).toBe(new Date(T0 + 2_000_000).toISOString());
    expect(isSudo(stored, T0 + 2_000_000 + 1_999, 2)).toBe(true);
    expect(isSudo(stored, T0 + 2_000_000 + 2_000, 2)).toBe(false);
    expect(isSudo(stored, T0 + 2_000_000 - 3_600_000, 900)).toBe(false); // a time far before it (clock stepped back)
  });
});
