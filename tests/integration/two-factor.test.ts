/**
 * The second factor against the production server (contract §6): TOTP enrolment
 * without JavaScript (the secret read from the page, codes computed with otpauth),
 * two-step and one-step sign-in, wrong and replayed codes, the login_challenge cookie
 * that is never a session, the challenge killed by its 5th wrong code, a recovery code
 * that works once, sudo mode in front of token creation and of ending the other
 * sessions, and the CLI's lockout reset.
 */
import { randomBytes } from "node:crypto";
import * as OTPAuth from "otpauth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OpenedDatabase } from "~/lib/db.server";
import { signedIn, type CookieJar, testDatabase, type TestDatabase } from "../support/kit";
import { OWNER_EMAIL, OWNER_PASSWORD, getPage, postForm, sessionCookieFrom } from "../support/http";
import { runCli, startServer, type TestServer } from "../support/server";

const decode = (html: string) =>
  html
    .replace(/&amp;/g, "&")
    .replace(/&#x27;/g, "'")
    .replace(/&quot;/g, '"');

/** Enrols TOTP through the page, as a browser without JavaScript would; returns the TOTP and the recovery codes. */
async function enrol(jar: CookieJar): Promise<{ totp: OTPAuth.TOTP; recoveryCodes: string[]; page: string }> {
  const started = await jar.post("/settings/two-factor", { intent: "totp-start" });
  expect(started.status).toBe(200);
  const page = decode(await started.text());
  const uri = /otpauth:\/\/totp\/[^<"\s]+/.exec(page)?.[0];
  expect(uri).toBeDefined();
  const totp = OTPAuth.URI.parse(uri!) as OTPAuth.TOTP;
  const confirmed = await jar.post("/settings/two-factor", { intent: "totp-confirm", code: totp.generate() });
  expect(confirmed.status).toBe(200);
  const html = await confirmed.text();
  const recoveryCodes = [...html.matchAll(/<code>([a-z0-9]{5}-[a-z0-9]{5})<\/code>/g)].map((m) => m[1]!);
  return { totp, recoveryCodes, page };
}

/** A code of the next 30-second step (the server accepts ±1 step), never the one just used. */
function nextCode(totp: OTPAuth.TOTP, stepsAhead = 1): string {
  return totp.generate({ timestamp: Date.now() + stepsAhead * 30_000 });
}

/** A 6-digit code valid in none of the steps the server accepts now. */
function wrongCode(totp: OTPAuth.TOTP): string {
  const valid = new Set([-1, 0, 1].map((k) => nextCode(totp, k)));
  return ["000000", "111111", "222222"].find((c) => !valid.has(c))!;
}

function challengeCookieFrom(response: Response): { pair: string; attributes: string } | null {
  const set = response.headers.getSetCookie().find((c) => c.startsWith("login_challenge=") && !/max-age=0/i.test(c));
  return set ? { pair: set.split(";")[0]!, attributes: set } : null;
}

async function tokenCount(opened: OpenedDatabase): Promise<number> {
  const row = await opened.db
    .selectFrom("api_tokens")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function events(opened: OpenedDatabase, type: string) {
  return opened.db
    .selectFrom("security_events")
    .selectAll()
    .where("type", "=", type as never)
    .orderBy("id")
    .execute();
}

describe("TOTP: enrolment and sign-in", () => {
  let server: TestServer;
  let opened: TestDatabase;
  let totp: OTPAuth.TOTP;
  let recoveryCodes: string[];

  beforeAll(async () => {
    // Each test signs in afresh from one address: a generous limit keeps the throttle out of the way.
    server = await startServer({
      env: { COOKIE_SECURE: "false", LOGIN_RATE_LIMIT: "200/15m", LOGIN_UNTRUSTED_RATE_LIMIT: "200/15m" },
    });
    opened = await testDatabase({ path: server.dbPath });
    const jar = await signedIn(server);
    const enrolled = await enrol(jar);
    totp = enrolled.totp;
    recoveryCodes = enrolled.recoveryCodes;
    expect(enrolled.page).toContain(`otpauth://totp/PreqStation:${OWNER_EMAIL}?secret=`);
    expect(enrolled.page).toContain("issuer=PreqStation");
    expect(enrolled.page).toMatch(/<img[^>]+src="data:image\/svg\+xml;base64,/);
  });
  afterAll(async () => {
    await opened?.close();
    await server?.stop();
  });

  it("enrolment without JavaScript turns TOTP on, shows 10 recovery codes once, and writes owner.2fa_enable", async () => {
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    const audit = await opened.db.selectFrom("audit_log").select("action").where("action", "=", "owner.2fa_enable").execute();
    expect(audit).toHaveLength(1);
    const totpRow = await opened.db.selectFrom("owner_totp").selectAll().executeTakeFirstOrThrow();
    expect(totpRow.secret_sealed).not.toContain(totp.secret.base32);
  });

  it("a correct password with no code answers 200 asking for the code, sets login_challenge and no session", async () => {
    const res = await postForm(server, "/login", { email: OWNER_EMAIL, password: OWNER_PASSWORD });
    expect(res.status).toBe(200);
    expect(sessionCookieFrom(res)).toBeNull();
    const challenge = challengeCookieFrom(res);
    expect(challenge).not.toBeNull();
    expect(challenge!.attributes).toMatch(/HttpOnly/i);
    expect(challenge!.attributes).toMatch(/SameSite=Strict/i);
    // Path=/ like every cookie: with JavaScript the code step posts to /login.data, which Path=/login misses.
    expect(challenge!.attributes).toMatch(/Path=\/(;|$)/i);
    expect(challenge!.attributes).toMatch(/Max-Age=300/i);
    const html = await res.text();
    expect(html).toMatch(/name="code"/);
    expect(html).not.toMatch(/name="password"/);
  });

  it("two-step sign-in: the code step completes it with a session and a device cookie; the code cannot be replayed", async () => {
    const first = await postForm(server, "/login", {
      email: OWNER_EMAIL,
      password: OWNER_PASSWORD,
      redirectTo: "/settings/sessions",
    });
    const challenge = challengeCookieFrom(first)!;
    // The current step's code confirmed the enrolment: the next step's is the first fresh one.
    const code = nextCode(totp);
    const done = await postForm(server, "/login", { code, redirectTo: "/settings/sessions" }, { cookie: challenge.pair });
    expect(done.status).toBe(302);
    expect(done.headers.get("location")).toBe("/settings/sessions");
    const session = sessionCookieFrom(done);
    expect(session).not.toBeNull();
    expect(done.headers.getSetCookie().some((c) => c.startsWith("device="))).toBe(true);
    expect((await getPage(server, "/settings/two-factor", session!)).status).toBe(200);
    // The challenge is single use.
    const again = await postForm(server, "/login", { code }, { cookie: challenge.pair });
    expect(again.status).toBe(401);
    expect(sessionCookieFrom(again)).toBeNull();
    // The same code in a new sign-in is a replay: refused, and recorded as one.
    const replay = await postForm(server, "/login", { email: OWNER_EMAIL, password: OWNER_PASSWORD, code });
    expect(replay.status).toBe(401);
    expect(sessionCookieFrom(replay)).toBeNull();
    expect(await replay.text()).toContain("already used");
    const failures = await events(opened, "second_factor");
    expect(failures.some((e) => JSON.parse(e.details).reason === "replayed")).toBe(true);
  });

  it("one-step sign-in with email, password and code together works", async () => {
    // Every fresh TOTP step in the ±1 window is used up by now: a recovery code goes in the same field.
    const res = await postForm(server, "/login", { email: OWNER_EMAIL, password: OWNER_PASSWORD, code: recoveryCodes[9]! });
    expect(res.status).toBe(302);
    expect(sessionCookieFrom(res)).not.toBeNull();
  });

  it("a wrong code is 401, keeps asking for the code, counts as a failure event, and sets no session", async () => {
    const first = await postForm(server, "/login", { email: OWNER_EMAIL, password: OWNER_PASSWORD });
    const challenge = challengeCookieFrom(first)!;
    const before = (await events(opened, "second_factor")).length;
    const wrong = await postForm(server, "/login", { code: wrongCode(totp) }, { cookie: challenge.pair });
    expect(wrong.status).toBe(401);
    expect(sessionCookieFrom(wrong)).toBeNull();
    const html = await wrong.text();
    expect(html).toMatch(/name="code"/);
    expect(html).toContain("4 tries left");
    expect((await events(opened, "second_factor")).length).toBe(before + 1);
  });

  it("the login_challenge value pasted into the session cookie is anonymous", async () => {
    const first = await postForm(server, "/login", { email: OWNER_EMAIL, password: OWNER_PASSWORD });
    const challenge = challengeCookieFrom(first)!;
    const value = challenge.pair.slice("login_challenge=".length);
    for (const cookie of [`session=${value}`, `session=${decodeURIComponent(value)}`, challenge.pair]) {
      const res = await getPage(server, "/settings/api-keys", cookie);
      expect(res.status).toBe(302);
      expect(res.headers.get("location")).toMatch(/^\/login/);
    }
  });

  it("the 6th wrong code finds the challenge dead: start over with the password", async () => {
    const first = await postForm(server, "/login", { email: OWNER_EMAIL, password: OWNER_PASSWORD });
    const challenge = challengeCookieFrom(first)!;
    const wrong = wrongCode(totp);
    for (let i = 1; i <= 5; i++) {
      const res = await postForm(server, "/login", { code: wrong }, { cookie: challenge.pair });
      expect(res.status).toBe(401);
    }
    // The 5th wrong code killed it: even the right code now fails.
    const sixth = await postForm(server, "/login", { code: nextCode(totp, 1) }, { cookie: challenge.pair });
    expect(sixth.status).toBe(401);
    expect(sessionCookieFrom(sixth)).toBeNull();
    expect(await sixth.text()).toMatch(/enter your email and password again/i);
    const rows = await opened.db.selectFrom("login_challenges").selectAll().execute();
    expect(rows.every((r) => r.failures < 5)).toBe(true);
  });

  it("a recovery code signs in exactly once, and its use is a security event", async () => {
    const code = recoveryCodes[0]!;
    const first = await postForm(server, "/login", { email: OWNER_EMAIL, password: OWNER_PASSWORD });
    const used = await postForm(server, "/login", { code }, { cookie: challengeCookieFrom(first)!.pair });
    expect(used.status).toBe(302);
    expect(sessionCookieFrom(used)).not.toBeNull();
    const again = await postForm(server, "/login", { email: OWNER_EMAIL, password: OWNER_PASSWORD, code });
    expect(again.status).toBe(401);
    expect(sessionCookieFrom(again)).toBeNull();
    const uses = await events(opened, "recovery_code_used");
    expect(uses.length).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(uses.at(-1)!.details)).toMatchObject({ recovery_codes_left: expect.any(Number) });
  });

  it("wrong codes count toward LOGIN_RATE_LIMIT like wrong passwords", async () => {
    const limited = await startServer({ env: { COOKIE_SECURE: "false", LOGIN_RATE_LIMIT: "3/15m" } });
    try {
      const jar = await signedIn(limited);
      const { totp: t } = await enrol(jar);
      const first = await postForm(limited, "/login", { email: OWNER_EMAIL, password: OWNER_PASSWORD });
      expect(first.status).toBe(200); // a right password does not count
      const pair = challengeCookieFrom(first)!.pair;
      const wrong = wrongCode(t);
      for (let i = 0; i < 3; i++) expect((await postForm(limited, "/login", { code: wrong }, { cookie: pair })).status).toBe(401);
      const throttled = await postForm(limited, "/login", { code: nextCode(t, 1) }, { cookie: pair });
      expect(throttled.status).toBe(429);
      expect(throttled.headers.get("retry-after")).toMatch(/^\d+$/);
    } finally {
      await limited.stop();
    }
  });
});

describe("sudo mode", () => {
  let server: TestServer;
  let opened: TestDatabase;

  beforeAll(async () => {
    server = await startServer({ env: { COOKIE_SECURE: "false", SUDO_MAX_AGE: "2" } });
    opened = await testDatabase({ path: server.dbPath });
  });
  afterAll(async () => {
    await opened?.close();
    await server?.stop();
  });

  it("token creation after SUDO_MAX_AGE is a 303 to /sudo and creates nothing; after /sudo it works", async () => {
    const jar = await signedIn(server);
    // Right after sign-in (which counts as re-authentication) a token can be made.
    expect((await jar.post("/settings/api-keys", { intent: "create", name: "fresh" })).status).toBe(200);
    const before = await tokenCount(opened);
    await new Promise((r) => setTimeout(r, 3_000));
    const refused = await jar.post("/settings/api-keys", { intent: "create", name: "late" });
    expect(refused.status).toBe(303);
    expect(refused.headers.get("location")).toBe("/sudo?redirectTo=%2Fsettings%2Fapi-keys");
    expect(await tokenCount(opened)).toBe(before);

    const page = await jar.page("/sudo?redirectTo=%2Fsettings%2Fapi-keys");
    expect(page.status).toBe(200);
    const wrong = await jar.post("/sudo", { password: "not the password at all", redirectTo: "/settings/api-keys" });
    expect(wrong.status).toBe(401);
    const granted = await jar.post("/sudo", { password: OWNER_PASSWORD, redirectTo: "/settings/api-keys" });
    expect(granted.status).toBe(303);
    expect(granted.headers.get("location")).toBe("/settings/api-keys");
    const created = await jar.post("/settings/api-keys", { intent: "create", name: "after-sudo" });
    expect(created.status).toBe(200);
    expect(await tokenCount(opened)).toBe(before + 1);
    const types = (await opened.db.selectFrom("security_events").select("type").execute()).map((e) => e.type);
    expect(types).toContain("sudo_failed");
    expect(types).toContain("sudo_granted");
  });

  it("/sudo never redirects off-site", async () => {
    const jar = await signedIn(server);
    const res = await jar.post("/sudo", { password: OWNER_PASSWORD, redirectTo: "//evil.example/x" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/settings");
  });

  it("revoke-others needs sudo mode: 303 to /sudo, and the other session survives", async () => {
    const other = await signedIn(server);
    const jar = await signedIn(server);
    await new Promise((r) => setTimeout(r, 3_000));
    const refused = await jar.post("/settings/sessions", { intent: "revoke-others" });
    expect(refused.status).toBe(303);
    expect(refused.headers.get("location")).toBe("/sudo?redirectTo=%2Fsettings%2Fsessions");
    expect((await other.page("/settings/sessions")).status).toBe(200);
    expect((await jar.post("/sudo", { password: OWNER_PASSWORD, redirectTo: "/settings/sessions" })).status).toBe(303);
    expect((await jar.post("/settings/sessions", { intent: "revoke-others" })).status).toBe(302);
    expect((await other.page("/settings/sessions")).status).toBe(302);
  });

  it("every change under /settings/two-factor needs sudo mode; with TOTP on, /sudo needs the code too", async () => {
    const jar = await signedIn(server);
    const { totp, recoveryCodes } = await enrol(jar);
    await new Promise((r) => setTimeout(r, 3_000));
    for (const intent of ["totp-start", "totp-disable", "recovery-regenerate", "passkey-remove"]) {
      const res = await jar.post("/settings/two-factor", { intent, code: "123456", passkey_id: "x" });
      expect(res.status, intent).toBe(303);
      expect(res.headers.get("location")).toBe("/sudo?redirectTo=%2Fsettings%2Ftwo-factor");
    }
    const options = await fetch(`${server.url}/settings/two-factor/passkeys/options`, {
      method: "POST",
      redirect: "manual",
      headers: { Origin: server.origin, Cookie: jar.cookie, "Content-Type": "application/json" },
      body: "{}",
    });
    expect(options.status).toBe(303);
    expect(await opened.db.selectFrom("owner_totp").select("owner_id").execute()).toHaveLength(1);
    // The password alone is not enough once TOTP is on.
    const noCode = await jar.post("/sudo", { password: OWNER_PASSWORD, redirectTo: "/settings/two-factor" });
    expect(noCode.status).toBe(400);
    const ok = await jar.post("/sudo", { password: OWNER_PASSWORD, code: nextCode(totp), redirectTo: "/settings/two-factor" });
    expect(ok.status).toBe(303);
    // In sudo mode now: a new set of recovery codes replaces the old one, and one of them turns TOTP off.
    const regenerated = await jar.post("/settings/two-factor", { intent: "recovery-regenerate" });
    expect(regenerated.status).toBe(200);
    const fresh = [...(await regenerated.text()).matchAll(/<code>([a-z0-9]{5}-[a-z0-9]{5})<\/code>/g)].map((m) => m[1]!);
    expect(fresh).toHaveLength(10);
    const stale = await jar.post("/settings/two-factor", { intent: "totp-disable", code: recoveryCodes[0]! });
    expect(stale.status).toBe(400);
    const off = await jar.post("/settings/two-factor", { intent: "totp-disable", code: fresh[0]! });
    expect(off.status).toBe(302);
    expect(await opened.db.selectFrom("owner_totp").select("owner_id").execute()).toHaveLength(0);
  });
});

describe("owner 2fa reset (CLI)", () => {
  it("removes TOTP, recovery codes and passkeys, ends every session, and is audited", async () => {
    const server = await startServer({ env: { COOKIE_SECURE: "false" } });
    const opened = await testDatabase({ path: server.dbPath });
    try {
      const jar = await signedIn(server);
      await enrol(jar);
      expect((await postForm(server, "/login", { email: OWNER_EMAIL, password: OWNER_PASSWORD })).status).toBe(200);
      const unknown = await runCli(["owner", "2fa", "reset", "--email", "nobody@example.com"], { dbPath: server.dbPath });
      expect(unknown.code).toBe(1);
      const result = await runCli(["owner", "2fa", "reset", "--email", OWNER_EMAIL], { dbPath: server.dbPath });
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("10 recovery code(s)");
      expect((await jar.page("/settings/two-factor")).status).toBe(302);
      expect(await opened.db.selectFrom("owner_totp").selectAll().execute()).toHaveLength(0);
      expect(await opened.db.selectFrom("recovery_codes").selectAll().execute()).toHaveLength(0);
      expect(
        await opened.db.selectFrom("audit_log").select("action").where("action", "=", "owner.2fa_reset").execute(),
      ).toHaveLength(1);
      // The password alone signs in again.
      const res = await postForm(server, "/login", { email: OWNER_EMAIL, password: OWNER_PASSWORD });
      expect(res.status).toBe(302);
    } finally {
      await opened.close();
      await server.stop();
    }
  });
});

describe("a DATA_KEY that cannot open the stored secret", () => {
  it("the code step says so clearly (409, never a 500) and owner 2fa reset is the way out", async () => {
    const keyA = randomBytes(32).toString("base64url");
    const keyB = randomBytes(32).toString("base64url");
    const first = await startServer({ env: { COOKIE_SECURE: "false", DATA_KEY: keyA } });
    try {
      await enrol(await signedIn(first));
    } finally {
      await first.stop();
    }
    const server = await startServer({ dir: first.dir, env: { COOKIE_SECURE: "false", DATA_KEY: keyB } });
    try {
      const step = await postForm(server, "/login", { email: OWNER_EMAIL, password: OWNER_PASSWORD });
      expect(step.status).toBe(200);
      const refused = await postForm(server, "/login", { code: "123456" }, { cookie: challengeCookieFrom(step)!.pair });
      expect(refused.status).toBe(409);
      expect(sessionCookieFrom(refused)).toBeNull();
      expect(await refused.text()).toContain("owner 2fa reset");
      const reset = await runCli(["owner", "2fa", "reset", "--email", OWNER_EMAIL], {
        dbPath: server.dbPath,
        env: { DATA_KEY: keyB },
      });
      expect(reset.code).toBe(0);
      expect((await postForm(server, "/login", { email: OWNER_EMAIL, password: OWNER_PASSWORD })).status).toBe(302);
    } finally {
      await server.stop();
    }
  });
});
