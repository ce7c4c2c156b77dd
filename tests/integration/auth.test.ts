/**
 * Sign-in, sessions and sign-out against the real production server (contract §3),
 * the way a browser without JavaScript uses them: forms, cookies, redirects.
 */
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getPage, OWNER_PASSWORD, postForm, sessionCookieFrom, setupOwner, signIn } from "../support/http";
import { startServer, tempDir, type TestServer } from "../support/server";

const SECRET_A = "A".repeat(20) + "-first-secret-signs-now";
const SECRET_B = "B".repeat(20) + "-older-secret-verifies";

function setCookieFor(res: Response, name = "session"): string | undefined {
  return res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
}

function attributes(setCookie: string): string[] {
  return setCookie
    .split(";")
    .slice(1)
    .map((a) => a.trim())
    .sort();
}

function events(server: TestServer, type: string) {
  const db = new Database(server.dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare("select * from security_events where type = ? order by id").all(type) as Array<{
      outcome: string;
      ip: string;
      path: string;
      details: string;
      count: number;
    }>;
  } finally {
    db.close();
  }
}

/** True when the cookie is honoured: /login redirects a signed-in visitor away. */
async function isSignedIn(server: TestServer, cookie: string): Promise<boolean> {
  const res = await getPage(server, "/login", cookie);
  return res.status === 302 && res.headers.get("location") !== "/setup";
}

describe("sign-in and sessions", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { SESSION_SECRET: SECRET_A } });
    await setupOwner(server);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("sets the session cookie exactly as the contract says", async () => {
    const res = await postForm(server, "/login", { email: "owner@example.com", password: OWNER_PASSWORD });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/tasks");
    const set = setCookieFor(res)!;
    expect(set).toMatch(/^session=[^;]+\.[^;]+;/);
    expect(attributes(set)).toEqual(["HttpOnly", "Max-Age=86400", "Path=/", "SameSite=Strict", "Secure"]);
    expect(events(server, "login").at(-1)).toMatchObject({ outcome: "success", path: "/login" });
  });

  it("re-sends the cookie with a fresh Max-Age on every authenticated page and data response", async () => {
    const cookie = await signIn(server);
    for (const path of ["/settings", "/settings.data?_routes=root", "/"]) {
      const res = await getPage(server, path, cookie);
      const set = setCookieFor(res);
      expect(set, path).toBeDefined();
      expect(set!.split(";")[0]).toBe(cookie);
      expect(attributes(set!), path).toContain("Max-Age=86400");
      expect(res.headers.get("cache-control"), path).toBe("no-store");
    }
  });

  it("never sends the session cookie on an anonymous response, or on the API", async () => {
    const cookie = await signIn(server);
    expect(setCookieFor(await getPage(server, "/login"))).toBeUndefined();
    expect(setCookieFor(await getPage(server, "/api/health", cookie))).toBeUndefined();
  });

  it("answers a wrong password and an unknown email with the same 401 message and no cookie", async () => {
    const wrong = await postForm(server, "/login", { email: "owner@example.com", password: "not the password at all" });
    const unknown = await postForm(server, "/login", { email: "nobody@example.com", password: "not the password at all" });
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401);
      expect(setCookieFor(res)).toBeUndefined();
      expect(await res.text()).toContain("Incorrect email or password.");
    }
    const failures = events(server, "login")
      .filter((e) => e.outcome === "failure")
      .map((e) => JSON.parse(e.details));
    expect(failures.slice(-2)).toEqual([
      { reason: "wrong_password", email: "owner@example.com" },
      { reason: "unknown_email", email: "nobody@example.com" },
    ]);
    expect(JSON.stringify(failures)).not.toContain("not the password at all");
  });

  it("treats a tampered or unknown cookie as an anonymous visitor, never as an error", async () => {
    const cookie = await signIn(server);
    const [payload, signature] = cookie.slice("session=".length).split(".") as [string, string];
    const tampered = [
      `session=${payload}.${signature.slice(0, -2)}${signature.endsWith("AA") ? "BB" : "AA"}`,
      `session=${payload.slice(0, -4)}QQQQ.${signature}`,
      "session=garbage",
      `session=${"x".repeat(5000)}`,
    ];
    for (const bad of tampered) {
      const res = await getPage(server, "/settings", bad);
      expect(res.status, bad).toBe(302);
      expect(res.headers.get("location")).toBe("/login?redirectTo=%2Fsettings");
      expect(setCookieFor(res)).toBeUndefined();
    }
  });

  it("issues a new session id at every sign-in and ends the one the browser already had", async () => {
    const first = await signIn(server);
    const res = await postForm(server, "/login", { email: "owner@example.com", password: OWNER_PASSWORD }, { cookie: first });
    const second = sessionCookieFrom(res)!;
    expect(second).not.toBe(first);
    expect(await isSignedIn(server, second)).toBe(true);
    expect(await isSignedIn(server, first)).toBe(false);
  });

  it("signs out on POST only, and a replayed cookie after sign-out is anonymous", async () => {
    const cookie = await signIn(server);
    const get = await getPage(server, "/logout", cookie);
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    expect(await isSignedIn(server, cookie)).toBe(true);
    for (const method of ["DELETE", "PUT"]) {
      const other = await fetch(`${server.url}/logout`, {
        method,
        redirect: "manual",
        headers: { Origin: server.origin, Cookie: cookie },
      });
      expect(other.status, method).toBe(405);
    }
    expect(await isSignedIn(server, cookie)).toBe(true);

    const res = await postForm(server, "/logout", {}, { cookie });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/login");
    expect(setCookieFor(res)).toMatch(/^session=; .*Max-Age=0/);
    expect(await isSignedIn(server, cookie)).toBe(false);
    const replay = await getPage(server, "/settings", cookie);
    expect(replay.headers.get("location")).toBe("/login?redirectTo=%2Fsettings");
    expect(events(server, "logout").at(-1)?.outcome).toBe("success");
  });

  it("sends an anonymous visitor to sign in and back, but never to another site", async () => {
    const anon = await getPage(server, "/settings?x=1");
    expect(anon.status).toBe(302);
    expect(anon.headers.get("location")).toBe("/login?redirectTo=%2Fsettings%3Fx%3D1");

    const back = await postForm(server, "/login", {
      email: "owner@example.com",
      password: OWNER_PASSWORD,
      redirectTo: "/settings?x=1",
    });
    expect(back.headers.get("location")).toBe("/settings?x=1");
    for (const evil of ["//evil.example", "/\\evil.example", "https://evil.example/", "/a/..//evil.example"]) {
      const res = await postForm(server, "/login", { email: "owner@example.com", password: OWNER_PASSWORD, redirectTo: evil });
      expect(res.headers.get("location"), evil).toBe("/tasks");
    }
    const page = await (await getPage(server, "/login?redirectTo=%2F%2Fevil.example")).text();
    expect(page).not.toMatch(/name="redirectTo"/); // no hidden field carries it into the form
    const kept = await (await getPage(server, "/login?redirectTo=%2Fsettings")).text();
    expect(kept).toMatch(/name="redirectTo" value="\/settings"/);
  });

  it("signs in and sets up on POST only: PUT, PATCH and DELETE are 405 and set no cookie", async () => {
    for (const method of ["PUT", "PATCH", "DELETE"]) {
      for (const path of ["/login", "/login.data", "/setup"]) {
        const res = await fetch(`${server.url}${path}`, {
          method,
          redirect: "manual",
          headers: { Origin: server.origin, "Content-Type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ email: "owner@example.com", password: OWNER_PASSWORD }).toString(),
        });
        expect(res.status, `${method} ${path}`).toBe(405);
        expect(setCookieFor(res), `${method} ${path}`).toBeUndefined();
      }
    }
  });

  it("refuses a cross-origin form post with a 403 page and records it", async () => {
    const cookie = await signIn(server);
    const counted = () => events(server, "csrf_blocked").reduce((n, e) => n + e.count, 0);
    const before = counted();
    const cases: Array<Record<string, string>> = [
      { Origin: "https://evil.example" },
      { Origin: "null" },
      { Origin: "", "Sec-Fetch-Site": "cross-site" },
    ];
    for (const headers of cases) {
      const res = await fetch(`${server.url}/logout`, {
        method: "POST",
        redirect: "manual",
        headers: { ...headers, Cookie: cookie, "Content-Type": "application/x-www-form-urlencoded" },
        body: "",
      });
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(res.headers.get("content-type")).toContain("text/html");
    }
    // a request with no Origin at all (the "" above is still a header): falls through to Sec-Fetch-Site, then Referer
    const noHeaders = await fetch(`${server.url}/login`, {
      method: "POST",
      redirect: "manual",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Referer: "https://evil.example/form" },
      body: "email=owner%40example.com&password=x",
    });
    expect(noHeaders.status).toBe(403);
    expect(await isSignedIn(server, cookie)).toBe(true); // the blocked sign-out did nothing
    // One client's blocks are counted on one row a minute, whatever their path (the first one's is kept).
    expect(counted()).toBe(before + cases.length + 1);
    expect(events(server, "csrf_blocked").at(-1)).toMatchObject({ outcome: "blocked", ip: "127.0.0.1" });
  });
});

describe("the sign-in throttle (LOGIN_RATE_LIMIT=3/1m)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { LOGIN_RATE_LIMIT: "3/1m" } });
    await setupOwner(server);
  });
  afterAll(async () => {
    await server?.stop();
  });

  const attempt = (password: string, headers: Record<string, string> = {}) =>
    postForm(server, "/login", { email: "owner@example.com", password }, { headers });

  it("never counts a success, then answers the attempt after three failures with a 429 page and Retry-After", async () => {
    expect((await attempt("wrong password one")).status).toBe(401);
    expect((await attempt("wrong password two")).status).toBe(401);
    expect((await attempt(OWNER_PASSWORD)).status).toBe(302); // does not count
    expect((await attempt("wrong password three")).status).toBe(401);

    // X-Forwarded-For is not believed without TRUST_PROXY
    const throttled = await attempt(OWNER_PASSWORD, { "X-Forwarded-For": "198.51.100.23" });
    expect(throttled.status).toBe(429);
    const retryAfter = Number(throttled.headers.get("retry-after"));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(120);
    expect(setCookieFor(throttled)).toBeUndefined();
    const page = await throttled.text();
    expect(page).toContain("Too many failed sign-in attempts");
    expect(page).toContain("<form");

    const db = new Database(server.dbPath, { readonly: true });
    const row = db.prepare("select outcome, ip from security_events where type = 'login_throttled'").get();
    db.close();
    expect(row).toEqual({ outcome: "blocked", ip: "127.0.0.1" });
  });
});

describe("behind a reverse proxy (TRUST_PROXY=true, ALLOWED_ORIGINS set)", () => {
  it("throttles by the forwarded client IP and trusts the listed public origin", async () => {
    const server = await startServer({
      env: { TRUST_PROXY: "true", LOGIN_RATE_LIMIT: "1/1m", ALLOWED_ORIGINS: "https://preq.example.com" },
    });
    try {
      await setupOwner(server);
      const guess = (ip: string, origin = server.origin) =>
        postForm(
          server,
          "/login",
          { email: "owner@example.com", password: "a wrong guess here" },
          { headers: { "X-Forwarded-For": ip, Origin: origin } },
        );
      expect((await guess("198.51.100.1")).status).toBe(401);
      expect((await guess("198.51.100.1")).status).toBe(429);
      expect((await guess("spoofed, 198.51.100.1")).status).toBe(429); // only the proxy's own (last) entry counts
      expect((await guess("198.51.100.2", "https://preq.example.com")).status).toBe(401);
      expect((await guess("198.51.100.3", "https://other.example.com")).status).toBe(403);
      const db = new Database(server.dbPath, { readonly: true });
      const ips = db
        .prepare("select distinct ip from security_events where type = 'login' and outcome = 'failure' order by ip")
        .all();
      db.close();
      expect(ips).toEqual([{ ip: "198.51.100.1" }, { ip: "198.51.100.2" }]);
    } finally {
      await server.stop();
    }
  });
});

describe("the sign-in throttle under a burst of parallel guesses", () => {
  it("lets no more than LOGIN_RATE_LIMIT guesses through, however many arrive at once", async () => {
    const server = await startServer({ env: { LOGIN_RATE_LIMIT: "3/1m" } });
    try {
      await setupOwner(server);
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          postForm(server, "/login", { email: "owner@example.com", password: `parallel guess ${i}` }).then((r) => r.status),
        ),
      );
      expect(results.filter((s) => s === 401)).toHaveLength(3);
      expect(results.filter((s) => s === 429)).toHaveLength(9);
    } finally {
      await server.stop();
    }
  });
});

describe("secret rotation", () => {
  it("accepts a cookie signed with the second SESSION_SECRET and re-signs it with the first", async () => {
    const dir = tempDir();
    const old = await startServer({ dir, env: { SESSION_SECRET: SECRET_B } });
    let cookie: string;
    try {
      await setupOwner(old);
      cookie = await signIn(old);
    } finally {
      await old.stop();
    }

    const rotated = await startServer({ dir, env: { SESSION_SECRET: `${SECRET_A},${SECRET_B}` } });
    let resigned: string;
    try {
      const res = await getPage(rotated, "/login", cookie);
      expect(res.headers.get("location")).toBe("/tasks"); // signed in: sent away from the sign-in page
      resigned = setCookieFor(res)!.split(";")[0]!;
      expect(resigned).not.toBe(cookie);
    } finally {
      await rotated.stop();
    }

    const newOnly = await startServer({ dir, env: { SESSION_SECRET: SECRET_A } });
    try {
      expect(await isSignedIn(newOnly, resigned)).toBe(true);
      expect(await isSignedIn(newOnly, cookie)).toBe(false); // the old signature needs the old secret
    } finally {
      await newOnly.stop();
    }
  });

  it("drops Secure from the cookie with COOKIE_SECURE=false", async () => {
    const server = await startServer({ env: { COOKIE_SECURE: "false" } });
    try {
      await setupOwner(server);
      const res = await postForm(server, "/login", { email: "owner@example.com", password: OWNER_PASSWORD });
      expect(attributes(setCookieFor(res)!)).toEqual(["HttpOnly", "Max-Age=86400", "Path=/", "SameSite=Strict"]);
    } finally {
      await server.stop();
    }
  });
});
