/**
 * Issue 22's second-factor and sudo gaps, against the production server, as two
 * browsers (cookie jars) of the same owner: one fresh (signed in just now, so in sudo
 * mode), one aged out of sudo mode (its sign-in moved back an hour in the database, as
 * a session left open on another machine would be).
 *
 * - item 2: the pending TOTP secret is served only in sudo mode, to the session that
 *   started the enrolment, and only that session can confirm it;
 * - item 3: a sign-in challenge (and a passkey challenge) opened before a password
 *   change or `owner reset-password` is dead afterwards;
 * - item 4: wrong current passwords on Settings › Security are throttled account-wide,
 *   not only per IP;
 * - item 5: revoking one other session needs sudo mode, like "sign out all others";
 * - item 6: TOTP codes on /settings/two-factor (confirm, disable) go through the attempt
 *   guard: throttled, and a flood of wrong codes does not write a row each;
 * - item 9: anonymous passkey-options requests are limited per IP: a flood writes a
 *   bounded number of rows;
 * - item 11: API tokens survive a password change or reset; the owner is shown them,
 *   with one "revoke all" (sudo).
 */
import * as OTPAuth from "otpauth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OpenedDatabase } from "~/lib/db.server";
import { signedIn, type CookieJar, testDatabase, type TestDatabase } from "../support/kit";
import { OWNER_EMAIL, OWNER_PASSWORD, getPage, postForm } from "../support/http";
import { runCli, startServer, type TestServer } from "../support/server";

const NEW_PASSWORD = "a new passphrase for the sudo tests";

const decode = (html: string) =>
  html
    .replace(/&amp;/g, "&")
    .replace(/&#x27;/g, "'")
    .replace(/&quot;/g, '"');

/** Moves every session's sign-in (and re-authentication) an hour back: all of them are out of sudo mode. */
async function ageOutEverySession(opened: OpenedDatabase) {
  const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
  await opened.db.updateTable("sessions").set({ created_at: hourAgo, reauthenticated_at: null }).execute();
}

/** Two browsers of the owner: `aged` signed in first and aged out of sudo, then `fresh` signed in. */
async function twoSessions(server: TestServer, opened: OpenedDatabase): Promise<{ aged: CookieJar; fresh: CookieJar }> {
  const aged = await signedIn(server);
  await ageOutEverySession(opened);
  const fresh = await signedIn(server);
  return { aged, fresh };
}

async function count(opened: OpenedDatabase, table: "owner_totp" | "webauthn_challenges" | "login_challenges" | "api_tokens") {
  const row = await opened.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function eventCount(opened: OpenedDatabase, type: string, outcome?: string) {
  let q = opened.db
    .selectFrom("security_events")
    .select(["count"])
    .where("type", "=", type as never);
  if (outcome) q = q.where("outcome", "=", outcome as never);
  const rows = await q.execute();
  return { rows: rows.length, events: rows.reduce((n, r) => n + Number(r.count), 0) };
}

async function startEnrolment(jar: CookieJar): Promise<OTPAuth.TOTP> {
  const started = await jar.post("/settings/two-factor", { intent: "totp-start" });
  expect(started.status).toBe(200);
  const uri = /otpauth:\/\/totp\/[^<"\s]+/.exec(decode(await started.text()))?.[0];
  expect(uri).toBeDefined();
  return OTPAuth.URI.parse(uri!) as OTPAuth.TOTP;
}

async function enrol(jar: CookieJar): Promise<{ totp: OTPAuth.TOTP; recoveryCodes: string[] }> {
  const totp = await startEnrolment(jar);
  const confirmed = await jar.post("/settings/two-factor", { intent: "totp-confirm", code: totp.generate() });
  expect(confirmed.status).toBe(200);
  const recoveryCodes = [...(await confirmed.text()).matchAll(/<code>([a-z0-9]{5}-[a-z0-9]{5})<\/code>/g)].map((m) => m[1]!);
  expect(recoveryCodes).toHaveLength(10);
  return { totp, recoveryCodes };
}

const nextCode = (totp: OTPAuth.TOTP, steps = 1) => totp.generate({ timestamp: Date.now() + steps * 30_000 });
function wrongCode(totp: OTPAuth.TOTP): string {
  const valid = new Set([-1, 0, 1, 2].map((k) => nextCode(totp, k)));
  return ["000000", "111111", "222222", "333333"].find((c) => !valid.has(c))!;
}

/** The public id of the session `jar` holds, read from its own sessions page. */
async function ownSessionId(jar: CookieJar): Promise<string> {
  const html = await (await jar.page("/settings/sessions")).text();
  // The current session's row carries the "Sign out" button; its form names the session.
  const m = /name="session_id" value="([A-Za-z0-9_-]+)"\/?>(?:(?!<\/form>)[\s\S])*?>Sign out</.exec(html);
  expect(m, "the current session's Sign out form").not.toBeNull();
  return m![1]!;
}

describe("two sessions, one aged out of sudo mode", () => {
  let server: TestServer;
  let opened: TestDatabase;

  beforeAll(async () => {
    server = await startServer({ env: { LOGIN_RATE_LIMIT: "200/15m", LOGIN_UNTRUSTED_RATE_LIMIT: "200/15m" } });
    opened = await testDatabase({ path: server.dbPath });
  });
  afterAll(async () => {
    await opened?.close();
    await server?.stop();
  });

  it("item 2: the pending TOTP secret is served only in sudo mode, to the session that started it, and only it can confirm", async () => {
    const { aged, fresh } = await twoSessions(server, opened);
    const other = await signedIn(server); // in sudo mode too, but not the one enrolling
    const totp = await startEnrolment(fresh);
    const secret = totp.secret.base32;

    // The session that started it, in sudo mode, sees it again (the page after a wrong code).
    expect(decode(await (await fresh.page("/settings/two-factor")).text())).toContain(secret);
    for (const jar of [aged, other]) {
      for (const path of ["/settings/two-factor", "/settings/two-factor.data"]) {
        const res = await jar.page(path);
        expect(res.status, path).toBe(200);
        const body = decode(await res.text());
        expect(body, path).not.toContain(secret);
        expect(body, path).not.toContain("otpauth://");
      }
    }
    // Neither of them can confirm it, with the right code: no TOTP, no recovery codes.
    for (const jar of [aged, other]) {
      const res = await jar.post("/settings/two-factor", { intent: "totp-confirm", code: totp.generate() });
      expect(res.status).not.toBe(200);
      expect(await res.text()).not.toMatch(/<code>[a-z0-9]{5}-[a-z0-9]{5}<\/code>/);
    }
    expect(await count(opened, "owner_totp")).toBe(0);

    // Once the enrolling session itself is out of sudo mode, the secret is not served to it either.
    await ageOutEverySession(opened);
    for (const path of ["/settings/two-factor", "/settings/two-factor.data"]) {
      expect(decode(await (await fresh.page(path)).text()), path).not.toContain(secret);
    }
    // It can still finish what it started (it saw the secret in sudo mode).
    const confirmed = await fresh.post("/settings/two-factor", { intent: "totp-confirm", code: totp.generate() });
    expect(confirmed.status).toBe(200);
    expect([...(await confirmed.text()).matchAll(/<code>[a-z0-9]{5}-[a-z0-9]{5}<\/code>/g)]).toHaveLength(10);

    // Leave TOTP off for the next tests.
    const again = await signedIn(server).catch(() => null);
    expect(again).toBeNull(); // a password alone no longer signs in
    expect((await runCli(["owner", "2fa", "reset", "--email", OWNER_EMAIL], { dbPath: server.dbPath })).code).toBe(0);
  });

  it("item 5: revoking one other session needs sudo mode; signing itself out does not", async () => {
    const { aged, fresh } = await twoSessions(server, opened);
    const freshId = await ownSessionId(fresh);
    const agedId = await ownSessionId(aged);

    const refused = await aged.post("/settings/sessions", { intent: "revoke", session_id: freshId });
    expect(refused.status).toBe(303);
    expect(refused.headers.get("location")).toBe("/sudo?redirectTo=%2Fsettings%2Fsessions");
    expect((await fresh.page("/settings")).status).toBe(200); // still signed in

    // The fresh session (in sudo mode) may end the aged one.
    const revoked = await fresh.post("/settings/sessions", { intent: "revoke", session_id: agedId });
    expect(revoked.status).toBe(302);
    expect((await aged.page("/settings")).headers.get("location")).toBe("/login?redirectTo=%2Fsettings");

    // A session out of sudo mode can still sign itself out.
    const third = await signedIn(server);
    await ageOutEverySession(opened);
    const self = await third.post("/settings/sessions", { intent: "revoke", session_id: await ownSessionId(third) });
    expect(self.status).toBe(302);
    expect(self.headers.get("location")).toBe("/login");
  });

  it("item 11: a password change leaves API tokens working; the Security page lists them with one revoke-all, which needs sudo", async () => {
    const { aged, fresh } = await twoSessions(server, opened);
    const created = await fresh.post("/settings/api-keys", { intent: "create", name: "survivor" });
    expect(created.status).toBe(200);
    const token = /preq_[A-Za-z0-9]{32}/.exec(await created.text())![0];

    const changed = await aged.post("/settings/security", {
      current_password: OWNER_PASSWORD,
      new_password: NEW_PASSWORD,
      new_password_confirm: NEW_PASSWORD,
    });
    expect(changed.status).toBe(302);
    const me = await fetch(`${server.url}/api/me`, { headers: { Authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200); // documented: a password change does not revoke tokens

    const page = await aged.page("/settings/security");
    const html = decode(await page.text());
    expect(html).toContain("still work after a password change");
    expect(html).toContain("survivor");
    expect(html).toMatch(/Revoke all API tokens/);

    // Out of sudo mode, revoke-all is a 303 to /sudo and changes nothing.
    const refused = await aged.post("/settings/security", { intent: "revoke-all-tokens" });
    expect(refused.status).toBe(303);
    expect(refused.headers.get("location")).toBe("/sudo?redirectTo=%2Fsettings%2Fsecurity");
    expect((await fetch(`${server.url}/api/me`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);

    expect((await aged.post("/sudo", { password: NEW_PASSWORD, redirectTo: "/settings/security" })).status).toBe(303);
    const revoked = await aged.post("/settings/security", { intent: "revoke-all-tokens" });
    expect(revoked.status).toBe(302);
    expect((await fetch(`${server.url}/api/me`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(401);
    const audit = await opened.db.selectFrom("audit_log").select("action").where("action", "=", "api_token.revoke").execute();
    expect(audit.length).toBeGreaterThanOrEqual(1);
    expect(decode(await (await aged.page("/settings/security")).text())).not.toContain("survivor");

    // Put the password back for the other tests.
    const back = await aged.post("/settings/security", {
      current_password: NEW_PASSWORD,
      new_password: OWNER_PASSWORD,
      new_password_confirm: OWNER_PASSWORD,
    });
    expect(back.status).toBe(302);
  });

  it("item 11: owner reset-password lists the tokens that still work and how to revoke them", async () => {
    const fresh = await signedIn(server);
    const created = await fresh.post("/settings/api-keys", { intent: "create", name: "cli-survivor" });
    expect(created.status).toBe(200);
    const reset = await runCli(["owner", "reset-password", "--email", OWNER_EMAIL], {
      dbPath: server.dbPath,
      input: `${OWNER_PASSWORD}\n`,
    });
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout).toMatch(/1 API token\(s\) still work/);
    expect(reset.stdout).toContain("cli-survivor");
    expect(reset.stdout).toContain("/settings/security");
  });
});

describe("item 3: challenges opened with the old password", () => {
  let server: TestServer;
  let opened: TestDatabase;
  let totp: OTPAuth.TOTP;

  beforeAll(async () => {
    server = await startServer({ env: { LOGIN_RATE_LIMIT: "200/15m", LOGIN_UNTRUSTED_RATE_LIMIT: "200/15m" } });
    opened = await testDatabase({ path: server.dbPath });
    ({ totp } = await enrol(await signedIn(server)));
  });
  afterAll(async () => {
    await opened?.close();
    await server?.stop();
  });

  /** Enters the password on /login: the page asks for the code; returns the challenge cookie. */
  async function openChallenge(password: string): Promise<string> {
    const res = await postForm(server, "/login", { email: OWNER_EMAIL, password });
    expect(res.status).toBe(200);
    const set = res.headers.getSetCookie().find((c) => c.startsWith("login_challenge="));
    expect(set).toBeDefined();
    return set!.split(";")[0]!;
  }

  async function signInWithCode(password: string, steps: number): Promise<CookieJar> {
    const challenge = await openChallenge(password);
    const res = await postForm(server, "/login", { code: nextCode(totp, steps) }, { cookie: challenge });
    expect(res.status).toBe(302);
    const session = res.headers.getSetCookie().find((c) => c.startsWith("session="))!;
    return {
      cookie: session.split(";")[0]!,
      get: () => undefined,
      page: (p: string) => getPage(server, p, session.split(";")[0]!),
      post: (p: string, fields: Record<string, string>) => postForm(server, p, fields, { cookie: session.split(";")[0]! }),
    };
  }

  it("a password change ends the sign-in and passkey challenges opened before it", async () => {
    const owner = await signInWithCode(OWNER_PASSWORD, 1);
    const stale = await openChallenge(OWNER_PASSWORD);
    const passkey = await postForm(server, "/login/passkey/options", {}, { headers: { "Content-Type": "application/json" } });
    expect(passkey.status).toBe(200);
    expect(await count(opened, "webauthn_challenges")).toBeGreaterThan(0);

    const changed = await owner.post("/settings/security", {
      current_password: OWNER_PASSWORD,
      new_password: NEW_PASSWORD,
      new_password_confirm: NEW_PASSWORD,
    });
    expect(changed.status).toBe(302);
    expect(await count(opened, "webauthn_challenges")).toBe(0);

    const late = await postForm(server, "/login", { code: nextCode(totp, 2) }, { cookie: stale });
    expect(late.status).toBe(401);
    expect(decode(await late.text())).toContain("This sign-in step has expired or was used up");
    expect(late.headers.getSetCookie().some((c) => c.startsWith("session=") && !/max-age=0/i.test(c))).toBe(false);
  });

  it("owner reset-password ends the sign-in challenges opened before it", async () => {
    const stale = await openChallenge(NEW_PASSWORD);
    expect(await count(opened, "login_challenges")).toBeGreaterThan(0);
    const reset = await runCli(["owner", "reset-password", "--email", OWNER_EMAIL], {
      dbPath: server.dbPath,
      input: `${OWNER_PASSWORD}\n`,
    });
    expect(reset.code, reset.stderr).toBe(0);
    const late = await postForm(server, "/login", { code: nextCode(totp, 0) }, { cookie: stale });
    expect(late.status).toBe(401);
    expect(decode(await late.text())).toContain("This sign-in step has expired or was used up");
  });
});

describe("item 4: wrong current passwords on Settings › Security, account-wide", () => {
  let server: TestServer;
  let opened: TestDatabase;

  beforeAll(async () => {
    // Behind a proxy: each guess comes from its own address, as a distributed guesser's would.
    server = await startServer({ env: { TRUST_PROXY: "true", LOGIN_RATE_LIMIT: "5/15m", LOGIN_UNTRUSTED_RATE_LIMIT: "5/15m" } });
    opened = await testDatabase({ path: server.dbPath });
  });
  afterAll(async () => {
    await opened?.close();
    await server?.stop();
  });

  it("a stolen session cookie guessing from many addresses is throttled; the owner's own browser still changes the password", async () => {
    await signedIn(server); // creates the owner
    // The owner's browser signs in through /login: its session and its device cookie.
    const login = await postForm(server, "/login", { email: OWNER_EMAIL, password: OWNER_PASSWORD });
    expect(login.status).toBe(302);
    const browser = login.headers
      .getSetCookie()
      .map((c) => c.split(";")[0]!)
      .join("; ");
    expect(browser).toMatch(/device=/);
    // The stolen cookie: the session alone.
    const session = browser.split("; ").find((c) => c.startsWith("session="))!;
    const statuses: number[] = [];
    for (let i = 0; i < 12; i += 1) {
      const res = await postForm(
        server,
        "/settings/security",
        { current_password: `guess number ${i} here`, new_password: NEW_PASSWORD, new_password_confirm: NEW_PASSWORD },
        { cookie: session, headers: { "X-Forwarded-For": `203.0.113.${10 + i}` } },
      );
      statuses.push(res.status);
      if (res.status === 429) expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    }
    expect(statuses.slice(0, 5)).toEqual([400, 400, 400, 400, 400]);
    expect(statuses.slice(5)).toEqual(Array(7).fill(429));
    expect((await eventCount(opened, "password_changed", "failure")).events).toBe(5);

    // The owner's browser (its device cookie) has its own budget.
    const changed = await postForm(
      server,
      "/settings/security",
      { current_password: OWNER_PASSWORD, new_password: NEW_PASSWORD, new_password_confirm: NEW_PASSWORD },
      { cookie: browser, headers: { "X-Forwarded-For": "198.51.100.77" } },
    );
    expect(changed.status).toBe(302);
  });
});

describe("item 6: TOTP codes on /settings/two-factor go through the attempt guard", () => {
  const servers: TestServer[] = [];
  const dbs: TestDatabase[] = [];
  async function fresh() {
    const server = await startServer({ env: { LOGIN_RATE_LIMIT: "5/15m", LOGIN_UNTRUSTED_RATE_LIMIT: "50/15m" } });
    servers.push(server);
    const opened = await testDatabase({ path: server.dbPath });
    dbs.push(opened);
    return { server, opened, jar: await signedIn(server) };
  }
  afterAll(async () => {
    for (const d of dbs) await d.close();
    for (const s of servers) await s.stop();
  });

  it("wrong codes confirming an enrolment are throttled, even before the right one", async () => {
    const { opened, jar } = await fresh();
    const totp = await startEnrolment(jar);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i += 1) {
      statuses.push((await jar.post("/settings/two-factor", { intent: "totp-confirm", code: wrongCode(totp) })).status);
    }
    expect(statuses).toEqual([400, 400, 400, 400, 400, 429, 429, 429]);
    const throttled = await jar.post("/settings/two-factor", { intent: "totp-confirm", code: totp.generate() });
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await count(opened, "owner_totp")).toBe(0);
    expect((await eventCount(opened, "second_factor", "failure")).rows).toBe(5);
  });

  it("wrong codes turning TOTP off are throttled, and a flood writes a bounded number of rows", async () => {
    const { opened, jar } = await fresh();
    const { totp } = await enrol(jar);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i += 1) {
      statuses.push((await jar.post("/settings/two-factor", { intent: "totp-disable", code: wrongCode(totp) })).status);
    }
    expect(statuses).toEqual([400, 400, 400, 400, 400, 429, 429, 429]);
    await Promise.all(
      Array.from({ length: 40 }, () => jar.post("/settings/two-factor", { intent: "totp-disable", code: wrongCode(totp) })),
    );
    expect(await count(opened, "owner_totp")).toBe(1);
    expect((await eventCount(opened, "second_factor", "failure")).rows).toBe(5);
    expect((await eventCount(opened, "login_throttled")).rows).toBeLessThanOrEqual(2);
  });
});

describe("item 9: anonymous passkey-options requests", () => {
  let server: TestServer;
  let opened: TestDatabase;

  beforeAll(async () => {
    server = await startServer();
    opened = await testDatabase({ path: server.dbPath });
    await signedIn(server);
  });
  afterAll(async () => {
    await opened?.close();
    await server?.stop();
  });

  it("a flood from one address is refused after the per-IP limit and writes a bounded number of rows", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 150; i += 1) {
      const res = await postForm(server, "/login/passkey/options", {}, { headers: { "Content-Type": "application/json" } });
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    const ok = statuses.filter((s) => s === 200).length;
    expect(ok).toBeGreaterThan(0);
    expect(ok).toBeLessThanOrEqual(30);
    expect(statuses.filter((s) => s === 429)).toHaveLength(150 - ok);
    expect(await count(opened, "webauthn_challenges")).toBe(ok);
    expect((await eventCount(opened, "login_throttled")).rows).toBe(1);
  });
});
