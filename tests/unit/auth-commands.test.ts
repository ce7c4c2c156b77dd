import { randomBytes, randomUUID } from "node:crypto";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { AuditSigner } from "../../app/lib/audit/signing.server";
import { guardAttempt } from "../../app/lib/auth/attempt-guard.server";
import { createDeviceCookie } from "../../app/lib/auth/device-cookie.server";
import { createOwnerFromCli, setUpOwner, setupIsOpen } from "../../app/lib/auth/owner-setup.server";
import { createOwner, getOwner } from "../../app/lib/auth/owner.server";
import { changePassword, resetPassword } from "../../app/lib/auth/password-change.server";
import { createPasswordHasher } from "../../app/lib/auth/password.server";
import { revokeAllOtherSessions, revokeSession } from "../../app/lib/auth/session-revoke.server";
import { createSession, createSessionCookie, hashSessionId } from "../../app/lib/auth/session.server";
import { SetupCode } from "../../app/lib/auth/setup.server";
import { signIn, signOut } from "../../app/lib/auth/sign-in.server";
import { dataKeyFromBytes } from "../../app/lib/auth/two-factor/data-key.server";
import { cliContext, ownerActor, requestContext, type ActorContext, type RequestContext } from "../../app/lib/domain/context";
import { loadConfig } from "../../app/lib/env.server";
import { recordEvent } from "../../app/lib/security/events.server";
import { RateLimiter } from "../../app/lib/security/rate-limit.server";
import type { Owner } from "../../db/schema";
import { testAuditSigner } from "../support/audit-key";
import { noChanges, testDatabase, type TestDatabase } from "../support/kit";

const config = loadConfig({ DATABASE_PATH: ":memory:", SESSION_SECRET: "unit-test-session-secret-0123456789abcdef" });
const sessionCookie = createSessionCookie(config);
const EMAIL = "owner@example.com";
const PASSWORD = "correct horse battery staple";
const NEW_PASSWORD = "a different long passphrase";

/** A signer that fails: the audit write, the last step of each command's transaction, throws. */
const brokenSigner: AuditSigner = {
  publicKey: testAuditSigner.publicKey,
  verify: () => false,
  sign: () => {
    throw new Error("signing failed");
  },
};

const anonymous: RequestContext = requestContext(new Request("http://localhost/login"), {
  id: "req-1",
  clientIp: "198.51.100.7",
  userAgent: "unit-test/1",
});

let opened: TestDatabase;
const db = () => opened.db;
const dataKey = dataKeyFromBytes(randomBytes(32));
const passwords = createPasswordHasher();
const { hash: hashPassword, verify: verifyPassword } = passwords;
const deps = () => ({ db: opened.db, sessionCookie, auditSigner: testAuditSigner, dataKey, changes: noChanges, passwords });
const events = (type: string) =>
  db()
    .selectFrom("security_events")
    .selectAll()
    .where("type", "=", type as never)
    .orderBy("id")
    .execute();
const audits = () => db().selectFrom("audit_log").selectAll().orderBy("seq").execute();
const sessionCount = async () => (await db().selectFrom("sessions").select("id_hash").execute()).length;

function slots() {
  return { release: vi.fn() };
}

async function newOwner(): Promise<Owner> {
  return createOwner(db(), { email: EMAIL, passwordHash: await hashPassword(PASSWORD) });
}

function ownerContext(owner: Owner, path = "/settings/security"): ActorContext {
  return requestContext(
    new Request(`http://localhost${path}`),
    { id: randomUUID(), clientIp: "192.0.2.10", userAgent: "browser/1" },
    ownerActor(owner),
  );
}

beforeEach(async () => {
  opened = await testDatabase();
});

describe("recordEvent: the one security-event recorder", () => {
  it("takes the client IP, user agent and path from the request context", async () => {
    await recordEvent(db(), anonymous, { type: "login", outcome: "failure", details: { reason: "wrong_password" } });
    const [row] = await events("login");
    expect(row).toMatchObject({ ip: "198.51.100.7", user_agent: "unit-test/1", path: "/login", outcome: "failure", count: 1 });
  });

  it("coalesces when asked, like recordSecurityEvent", async () => {
    for (let i = 0; i < 5; i++)
      await recordEvent(db(), anonymous, { type: "csrf_blocked", outcome: "blocked" }, { coalesce: true });
    const rows = await events("csrf_blocked");
    expect(rows).toHaveLength(1);
    expect(rows[0]!.count).toBe(5);
  });

  it("propagates a failure, unless best effort, which logs it with the request id", async () => {
    await opened.close();
    const error = vi.fn();
    await expect(recordEvent(db(), anonymous, { type: "login", outcome: "failure" })).rejects.toThrow();
    await expect(
      recordEvent(db(), anonymous, { type: "login", outcome: "failure" }, { bestEffort: { error } }),
    ).resolves.toBeUndefined();
    expect(error).toHaveBeenCalledWith("could not record security event", expect.objectContaining({ requestId: "req-1" }));
  });
});

describe("the attempt guard", () => {
  it("refuses past the limit with a Retry-After and one login_throttled event from the context", async () => {
    const limiters = {
      login: new RateLimiter({ max: 2, windowMs: 60_000 }),
      loginDevice: new RateLimiter({ max: 2, windowMs: 60_000 }),
      loginUntrusted: new RateLimiter({ max: 100, windowMs: 60_000 }, 1),
    };
    const guardDeps = { db: db(), deviceCookie: createDeviceCookie(config), limiters };
    const options = { via: "login" as const, account: true, cookieHeader: null };
    expect((await guardAttempt(guardDeps, anonymous, options)).allowed).toBe(true);
    expect((await guardAttempt(guardDeps, anonymous, options)).allowed).toBe(true);
    const refused = await guardAttempt(guardDeps, anonymous, options);
    expect(refused).toMatchObject({ allowed: false, scope: "ip" });
    expect(refused.allowed === false && refused.retryAfter).toBeGreaterThan(0);
    const [row] = await events("login_throttled");
    expect(row).toMatchObject({ ip: "198.51.100.7", path: "/login", outcome: "blocked" });
    expect(JSON.parse(row!.details)).toMatchObject({ scope: "ip", via: "login", limit: 2 });
  });
});

describe("signIn / signOut", () => {
  it("a wrong password is a login failure event and keeps counting; no session", async () => {
    await newOwner();
    const attempt = slots();
    const result = await signIn(deps(), anonymous, {
      email: EMAIL,
      password: "wrong password here",
      previousSessionId: null,
      attempt,
    });
    expect(result).toEqual({ ok: false, reason: "wrong_password" });
    expect(attempt.release).not.toHaveBeenCalled();
    expect(await sessionCount()).toBe(0);
    const [row] = await events("login");
    expect(JSON.parse(row!.details)).toEqual({ reason: "wrong_password", email: EMAIL });
    expect(row!.details).not.toContain("wrong password here");
  });

  it("an unknown email fails the same way", async () => {
    await newOwner();
    const result = await signIn(deps(), anonymous, {
      email: "nobody@example.com",
      password: PASSWORD,
      previousSessionId: null,
      attempt: slots(),
    });
    expect(result).toEqual({ ok: false, reason: "unknown_email" });
  });

  it("success gives the slots back, ends the previous session, creates one and records the event", async () => {
    const owner = await newOwner();
    const previous = await createSession(db(), sessionCookie, { ownerId: owner.id, ip: "x", userAgent: "y" });
    const attempt = slots();
    const result = await signIn(deps(), anonymous, { email: EMAIL, password: PASSWORD, previousSessionId: previous.id, attempt });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(attempt.release).toHaveBeenCalledOnce();
    const rows = await db().selectFrom("sessions").selectAll().execute();
    expect(rows.map((r) => r.id_hash)).toEqual([hashSessionId(result.session.id)]);
    expect(rows[0]).toMatchObject({ ip: "198.51.100.7", user_agent: "unit-test/1" });
    const [event] = await events("login");
    expect(event!.outcome).toBe("success");
    expect(JSON.parse(event!.details)).toEqual({ email: EMAIL, session: result.session.row.public_id, method: "password" });
  });

  it("sign-out deletes the session with its logout event", async () => {
    const owner = await newOwner();
    const s = await createSession(db(), sessionCookie, { ownerId: owner.id, ip: "x", userAgent: "y" });
    await signOut(deps(), ownerContext(owner, "/logout"), { sessionId: s.id, publicId: s.row.public_id });
    expect(await sessionCount()).toBe(0);
    const [event] = await events("logout");
    expect(event).toMatchObject({ outcome: "success", path: "/logout" });
    expect(JSON.parse(event!.details)).toEqual({ session: s.row.public_id });
  });
});

describe("setup", () => {
  async function openCode() {
    const code = new SetupCode();
    let shown = "";
    await code.refresh(db(), (c) => (shown = c));
    return { code, shown };
  }

  it("is closed (and says so in a blocked event) once an owner exists", async () => {
    const { code } = await openCode();
    expect(await setupIsOpen({ db: db(), setupCode: code }, anonymous)).toBe(true);
    await newOwner();
    expect(await setupIsOpen({ db: db(), setupCode: code }, anonymous)).toBe(false);
    const [event] = await events("setup");
    expect(event).toMatchObject({ outcome: "blocked" });
  });

  it("a wrong code is a coalesced failure event and keeps counting", async () => {
    const { code } = await openCode();
    const attempt = slots();
    for (let i = 0; i < 3; i++) {
      const r = await setUpOwner({ ...deps(), setupCode: code }, anonymous, {
        setupCode: "AAAAA-BBBBB-CCCCC",
        email: EMAIL,
        password: PASSWORD,
        attempt,
      });
      expect(r).toEqual({ ok: false, reason: "wrong_code" });
    }
    expect(attempt.release).not.toHaveBeenCalled();
    const rows = await events("setup");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: "failure", count: 3 });
    expect(await getOwner(db())).toBeUndefined();
  });

  it("the right code creates the owner, a session and the event, and is never valid again", async () => {
    const { code, shown } = await openCode();
    const attempt = slots();
    const r = await setUpOwner({ ...deps(), setupCode: code }, anonymous, {
      setupCode: shown.toLowerCase(),
      email: EMAIL,
      password: PASSWORD,
      attempt,
    });
    expect(r.ok).toBe(true);
    expect(attempt.release).toHaveBeenCalledOnce();
    expect(code.active).toBe(false);
    expect(await sessionCount()).toBe(1);
    expect((await events("setup")).map((e) => e.outcome)).toEqual(["success"]);
    expect(await verifyPassword(PASSWORD, (await getOwner(db()))!.password_hash)).toBe(true);
  });

  it("losing the race to another owner is owner_exists, recorded as blocked, with nothing written", async () => {
    const { code, shown } = await openCode();
    await newOwner(); // created behind the code's back (the CLI)
    const r = await setUpOwner({ ...deps(), setupCode: code }, anonymous, {
      setupCode: shown,
      email: "second@example.com",
      password: PASSWORD,
      attempt: slots(),
    });
    expect(r).toEqual({ ok: false, reason: "owner_exists" });
    expect(await sessionCount()).toBe(0);
    expect((await events("setup")).map((e) => e.outcome)).toEqual(["blocked"]);
  });

  it("the CLI's owner create writes the owner and its event in one step, and refuses a second owner", async () => {
    const ctx = cliContext({ requestId: "r", user: "root", host: "box" });
    const r = await createOwnerFromCli(deps(), ctx, { email: EMAIL, password: PASSWORD });
    expect(r.ok).toBe(true);
    const [event] = await events("setup");
    expect(event).toMatchObject({ outcome: "success", ip: "local", path: "cli", user_agent: "preqstation-cli" });
    expect(JSON.parse(event!.details)).toEqual({ email: EMAIL, via: "cli" });
    expect(await createOwnerFromCli(deps(), ctx, { email: "b@example.com", password: PASSWORD })).toEqual({
      ok: false,
      reason: "owner_exists",
    });
    expect(await events("setup")).toHaveLength(1);
  });
});

describe("changePassword", () => {
  async function signedIn() {
    const owner = await newOwner();
    const mine = await createSession(db(), sessionCookie, { ownerId: owner.id, ip: "x", userAgent: "mine" });
    await createSession(db(), sessionCookie, { ownerId: owner.id, ip: "x", userAgent: "other-1" });
    await createSession(db(), sessionCookie, { ownerId: owner.id, ip: "x", userAgent: "other-2" });
    return { owner, mine };
  }

  it("a wrong current password is a failure event, no change, no audit entry", async () => {
    const { owner, mine } = await signedIn();
    const attempt = slots();
    const r = await changePassword(deps(), ownerContext(owner), {
      owner,
      keepSessionIdHash: mine.row.id_hash,
      currentPassword: "nope nope nope",
      newPassword: NEW_PASSWORD,
      attempt,
    });
    expect(r).toEqual({ ok: false, reason: "wrong_current_password" });
    expect(attempt.release).not.toHaveBeenCalled();
    expect((await events("password_changed")).map((e) => e.outcome)).toEqual(["failure"]);
    expect(await audits()).toEqual([]);
    expect(await sessionCount()).toBe(3);
  });

  it("changes the hash, ends the other sessions, with one event and one audit entry", async () => {
    const { owner, mine } = await signedIn();
    const ctx = ownerContext(owner);
    const r = await changePassword(deps(), ctx, {
      owner,
      keepSessionIdHash: mine.row.id_hash,
      currentPassword: PASSWORD,
      newPassword: NEW_PASSWORD,
      attempt: slots(),
    });
    expect(r).toEqual({ ok: true, otherSessionsEnded: 2 });
    expect(await verifyPassword(NEW_PASSWORD, (await getOwner(db()))!.password_hash)).toBe(true);
    expect((await db().selectFrom("sessions").select("id_hash").execute()).map((s) => s.id_hash)).toEqual([mine.row.id_hash]);
    const [event] = await events("password_changed");
    expect(event).toMatchObject({ outcome: "success", ip: "192.0.2.10", path: "/settings/security" });
    expect(JSON.parse(event!.details)).toEqual({ via: "web", other_sessions_ended: 2, challenges_ended: 0 });
    const entries = await audits();
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      action: "owner.password_change",
      actor_type: "owner",
      actor_id: owner.id,
      actor_label: EMAIL,
      ip: "192.0.2.10",
      request_id: ctx.requestId,
      channel: "web",
    });
    expect(entries[0]!.changes).not.toContain(NEW_PASSWORD);
    expect(entries[0]!.changes).not.toContain("scrypt");
  });

  it("a failing audit write rolls the whole change back: old password, sessions and no success event", async () => {
    const { owner, mine } = await signedIn();
    await expect(
      changePassword({ ...deps(), auditSigner: brokenSigner }, ownerContext(owner), {
        owner,
        keepSessionIdHash: mine.row.id_hash,
        currentPassword: PASSWORD,
        newPassword: NEW_PASSWORD,
        attempt: slots(),
      }),
    ).rejects.toThrow("signing failed");
    expect(await verifyPassword(PASSWORD, (await getOwner(db()))!.password_hash)).toBe(true);
    expect(await sessionCount()).toBe(3);
    expect(await events("password_changed")).toEqual([]);
    expect(await audits()).toEqual([]);
  });
});

describe("resetPassword (CLI)", () => {
  const ctx = cliContext({ requestId: "cli-run", user: "root", host: "box" });

  it("sets the password, ends every session, with the event and one owner.password_reset entry", async () => {
    const owner = await newOwner();
    await createSession(db(), sessionCookie, { ownerId: owner.id, ip: "x", userAgent: "a" });
    const r = await resetPassword(deps(), ctx, { email: EMAIL, newPassword: NEW_PASSWORD });
    expect(r).toMatchObject({ ok: true, sessionsEnded: 1 });
    expect(await sessionCount()).toBe(0);
    expect(JSON.parse((await events("password_changed"))[0]!.details)).toEqual({
      via: "cli",
      sessions_ended: 1,
      challenges_ended: 0,
    });
    const entries = await audits();
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      action: "owner.password_reset",
      actor_type: "cli",
      actor_label: "cli (root@box)",
      channel: "cli",
      request_id: "cli-run",
    });
  });

  it("an unknown email changes nothing", async () => {
    await newOwner();
    expect(await resetPassword(deps(), ctx, { email: "other@example.com", newPassword: NEW_PASSWORD })).toEqual({
      ok: false,
      reason: "no_owner",
    });
    expect(await audits()).toEqual([]);
  });

  it("a failing audit write rolls the reset back", async () => {
    const owner = await newOwner();
    await createSession(db(), sessionCookie, { ownerId: owner.id, ip: "x", userAgent: "a" });
    await expect(
      resetPassword({ ...deps(), auditSigner: brokenSigner }, ctx, { email: EMAIL, newPassword: NEW_PASSWORD }),
    ).rejects.toThrow();
    expect(await verifyPassword(PASSWORD, (await getOwner(db()))!.password_hash)).toBe(true);
    expect(await sessionCount()).toBe(1);
    expect(await events("password_changed")).toEqual([]);
  });
});

describe("revokeSession / revokeAllOtherSessions", () => {
  async function three() {
    const owner = await newOwner();
    const make = (ua: string) => createSession(db(), sessionCookie, { ownerId: owner.id, ip: "x", userAgent: ua });
    return { owner, mine: await make("mine"), a: await make("a"), b: await make("b") };
  }

  it("revokes one session with its event and one session.revoke entry; an unknown one is not_found", async () => {
    const { owner, mine, a } = await three();
    const ctx = ownerContext(owner, "/settings/sessions");
    expect(await revokeSession(deps(), ctx, { current: mine.row, publicId: a.row.public_id })).toEqual({
      ok: true,
      wasCurrent: false,
    });
    expect(await revokeSession(deps(), ctx, { current: mine.row, publicId: a.row.public_id })).toEqual({
      ok: false,
      reason: "not_found",
    });
    expect(await sessionCount()).toBe(2);
    const entries = await audits();
    expect(entries.map((e) => [e.action, e.resource_id])).toEqual([["session.revoke", a.row.public_id]]);
    expect(JSON.parse((await events("session_revoked"))[0]!.details)).toEqual({
      session: a.row.public_id,
      current: false,
      via: "sessions_page",
    });
    expect(await revokeSession(deps(), ctx, { current: mine.row, publicId: mine.row.public_id })).toEqual({
      ok: true,
      wasCurrent: true,
    });
  });

  it("a failing audit write leaves the session alive", async () => {
    const { owner, mine, a } = await three();
    await expect(
      revokeSession({ ...deps(), auditSigner: brokenSigner }, ownerContext(owner), {
        current: mine.row,
        publicId: a.row.public_id,
      }),
    ).rejects.toThrow();
    expect(await sessionCount()).toBe(3);
    expect(await events("session_revoked")).toEqual([]);
  });

  it("revokes all others in one entry naming them; with none left it writes nothing", async () => {
    const { owner, mine, a, b } = await three();
    const ctx = ownerContext(owner, "/settings/sessions");
    expect(await revokeAllOtherSessions(deps(), ctx, { current: mine.row })).toBe(2);
    expect(await revokeAllOtherSessions(deps(), ctx, { current: mine.row })).toBe(0);
    const entries = await audits();
    expect(entries).toHaveLength(1);
    expect(entries[0]!.action).toBe("session.revoke_others");
    expect(JSON.parse(entries[0]!.changes).other_sessions.before.sort()).toEqual([a.row.public_id, b.row.public_id].sort());
    expect(await events("session_revoked")).toHaveLength(1);
  });

  it("a failing audit write keeps every other session", async () => {
    const { owner, mine } = await three();
    await expect(
      revokeAllOtherSessions({ ...deps(), auditSigner: brokenSigner }, ownerContext(owner), { current: mine.row }),
    ).rejects.toThrow();
    expect(await sessionCount()).toBe(3);
  });
});
