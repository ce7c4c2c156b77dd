/**
 * The account-wide sign-in limit (OWASP device cookies) against the real production
 * server behind a proxy (TRUST_PROXY=true): every request comes from its own address,
 * as a distributed guesser's would. Defaults everywhere else: LOGIN_RATE_LIMIT and
 * LOGIN_UNTRUSTED_RATE_LIMIT are both 10/15m.
 */
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { getPage, OWNER_EMAIL, OWNER_PASSWORD, postForm, sessionCookieFrom, setupOwner } from "../support/http";
import { startServer, type TestServer } from "../support/server";

let server: TestServer;
let nextAddress = 1;
/** A fresh client address for each request. */
const address = () => `198.51.${100 + (nextAddress >> 8)}.${nextAddress++ & 255}`;

beforeEach(async () => {
  server = await startServer({ env: { TRUST_PROXY: "true" } });
  await setupOwner(server);
});
afterEach(async () => {
  await server?.stop();
});

function signInFrom(ip: string, password: string, cookie?: string): Promise<Response> {
  return postForm(server, "/login", { email: OWNER_EMAIL, password }, { headers: { "X-Forwarded-For": ip }, cookie });
}

/** The `name=value` of the response's device cookie. */
function deviceCookieFrom(res: Response): string {
  const set = res.headers.getSetCookie().find((c) => c.startsWith("device="));
  if (!set) throw new Error(`no device cookie in ${res.status} response`);
  return set.split(";")[0]!;
}

/** The owner signs in once from their own browser, which gets a device cookie. */
async function ownerDevice(): Promise<string> {
  const res = await signInFrom("203.0.113.7", OWNER_PASSWORD);
  expect(res.status).toBe(302);
  return deviceCookieFrom(res);
}

/** 25 wrong passwords, each from a new address and without a device cookie; the statuses in order. */
async function distributedGuesses(n = 25): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) statuses.push((await signInFrom(address(), `wrong guess number ${i}`)).status);
  return statuses;
}

describe("account-wide sign-in limit (device cookies)", () => {
  it("throttles 25 wrong passwords from 25 addresses: after the shared budget of 10, each gets 429 with Retry-After", async () => {
    const statuses = await distributedGuesses();
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual(Array(15).fill(429));

    const res = await signInFrom(address(), "one more guess");
    expect(res.status).toBe(429);
    const retryAfter = Number(res.headers.get("retry-after"));
    expect(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 30 * 60).toBe(true);
    expect(await res.text()).toContain("Too many failed sign-in attempts");
    expect(sessionCookieFrom(res)).toBeNull();

    const db = new Database(server.dbPath, { readonly: true });
    const throttled = db
      // each refusal, counted on its client's row (or the overflow row `*` once the event budget is spent)
      .prepare(
        "select sum(count) as n from security_events where type = 'login_throttled' and (details like '%\"scope\":\"untrusted\"%' or ip = '*')",
      )
      .get() as { n: number };
    db.close();
    expect(throttled.n).toBe(16);
  });

  it("lets the owner's browser with a valid device cookie sign in while the shared budget is spent, and no browser without one", async () => {
    const device = await ownerDevice();
    await distributedGuesses();
    // Right password, new browser (no device cookie): refused, like everyone unknown.
    expect((await signInFrom("203.0.113.8", OWNER_PASSWORD)).status).toBe(429);
    // Right password, known browser, even from an address it never used: signed in.
    const res = await signInFrom("203.0.113.9", OWNER_PASSWORD, device);
    expect(res.status).toBe(302);
    expect(sessionCookieFrom(res)).not.toBeNull();
    // The known browser keeps its device: the cookie is re-sent with the same value.
    expect(deviceCookieFrom(res)).toBe(device);
  });

  it("issues the device cookie long-lived, HttpOnly, Secure and SameSite=Strict on sign-in and on setup", async () => {
    const res = await signInFrom("203.0.113.7", OWNER_PASSWORD);
    const set = res.headers.getSetCookie().find((c) => c.startsWith("device="))!;
    const attributes = set
      .split(";")
      .slice(1)
      .map((a) => a.trim().toLowerCase());
    expect(attributes).toEqual(expect.arrayContaining(["max-age=31536000", "path=/", "httponly", "secure", "samesite=strict"]));
    const fresh = await startServer();
    try {
      const setup = await postForm(fresh, "/setup", {
        setup_code: fresh.setupCode!,
        email: OWNER_EMAIL,
        password: OWNER_PASSWORD,
        password_confirm: OWNER_PASSWORD,
      });
      expect(setup.status).toBe(302);
      expect(setup.headers.getSetCookie().some((c) => c.startsWith("device="))).toBe(true);
    } finally {
      await fresh.stop();
    }
  });

  it("limits attempts per device: a device that fails too often is locked out for the window, from any address", async () => {
    const device = await ownerDevice();
    for (let i = 0; i < 10; i++) expect((await signInFrom(address(), `device guess ${i}`, device)).status).toBe(401);
    expect((await signInFrom(address(), "device guess 10", device)).status).toBe(429);
    expect((await signInFrom(address(), OWNER_PASSWORD, device)).status).toBe(429);
    // Its failures came from its own budget: the shared one for unknown browsers is untouched.
    expect((await signInFrom(address(), OWNER_PASSWORD)).status).toBe(302);
  });

  it("treats a tampered device cookie, or a session cookie presented as one, as no device cookie", async () => {
    const device = await ownerDevice();
    const session = sessionCookieFrom(await signInFrom("203.0.113.7", OWNER_PASSWORD, device))!;
    await distributedGuesses(12);
    const value = device.slice("device=".length);
    const last = value.at(-1) === "A" ? "B" : "A";
    const tampered = [
      `device=${value.slice(0, -1)}${last}`, // signature changed
      `device=${value.replace(/[0-9a-f]/, (c) => (c === "0" ? "1" : "0"))}`, // owner id changed
      `device=${session.slice("session=".length)}`, // a session cookie's value
    ];
    for (const cookie of tampered) expect((await signInFrom("203.0.113.10", OWNER_PASSWORD, cookie)).status, cookie).toBe(429);
    expect((await signInFrom("203.0.113.10", OWNER_PASSWORD, device)).status).toBe(302);
  });

  it("a device cookie presented as the session cookie is an anonymous visitor", async () => {
    const device = await ownerDevice();
    const asSession = `session=${device.slice("device=".length)}`;
    const res = await getPage(server, "/settings/api-keys", asSession);
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/login?redirectTo=%2Fsettings%2Fapi-keys");
    expect((await getPage(server, "/settings/api-keys", `${asSession}; ${device}`)).status).toBe(302);
  });

  it("keeps the per-address limit for browsers with a device cookie too", async () => {
    const device = await ownerDevice();
    for (let i = 0; i < 10; i++)
      expect((await signInFrom("192.0.2.50", `same address ${i}`, i % 2 ? device : undefined)).status).toBe(401);
    expect((await signInFrom("192.0.2.50", OWNER_PASSWORD, device)).status).toBe(429);
  });
});
