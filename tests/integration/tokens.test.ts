import fs from "node:fs";
import SQLite from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getPage, postForm, setupOwner } from "../support/http";
import { runCli, startServer, type TestServer } from "../support/server";

/** The `flash=…` pair a redirect set: the "done" notice the next page shows once. */
function flashFrom(response: Response): string {
  const set = response.headers.getSetCookie().find((c) => c.startsWith("flash="));
  if (!set) throw new Error("the response set no flash cookie");
  return set.split(";")[0]!;
}

const UNAUTHORIZED_BODY = { error: { code: "UNAUTHORIZED", message: "Missing or invalid authorization header" } };
const TOKEN_IN_HTML = /preq_[A-Za-z0-9]{32}/g;

/** Creates a token through the page's form exactly as a browser without JavaScript would. */
async function createThroughForm(server: TestServer, cookie: string, fields: Record<string, string>) {
  const res = await postForm(server, "/settings/api-keys", { intent: "create", ...fields }, { cookie });
  const html = await res.text();
  return { res, html, tokens: html.match(TOKEN_IN_HTML) ?? [] };
}

function me(server: TestServer, headers: Record<string, string> = {}, query = "") {
  return fetch(`${server.url}/api/me${query}`, { headers });
}

/** The token ids on the API Keys page, by name (from the revoke forms' hidden inputs). */
async function tokenIdByName(server: TestServer, cookie: string, name: string): Promise<string> {
  const html = await (await getPage(server, "/settings/api-keys", cookie)).text();
  const row = html.split("<tr>").find((r) => r.includes(`>${name}</th>`));
  const id = row && /name="token_id" value="(\d+)"/.exec(row)?.[1];
  if (!id) throw new Error(`no revocable token named ${name} on the page`);
  return id;
}

describe("API tokens against the production server", () => {
  let server: TestServer;
  let cookie: string;
  const plaintexts: string[] = [];

  beforeAll(async () => {
    server = await startServer({ env: { API_RATE_LIMIT: "1000/15m" } });
    cookie = await setupOwner(server);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("creates a token through the form without JavaScript, shows it once with no-store, and it works on /api/me", async () => {
    const { res, html, tokens } = await createThroughForm(server, cookie, {
      name: "local-dev",
      expires_in_days: "",
      scope: "full",
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("location")).toBeNull();
    expect(html).toContain("Copy it now, it will not be shown again.");
    expect(new Set(tokens).size).toBe(1);
    const token = tokens[0]!;
    plaintexts.push(token);

    const ok = await me(server, { Authorization: `Bearer ${token}` });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ token: { name: "local-dev", scope: "full", expires_at: null } });
    expect(ok.headers.get("x-ratelimit-limit")).toBe("1000");
    expect(ok.headers.get("x-ratelimit-remaining")).toBe("999");
    expect(ok.headers.get("x-ratelimit-reset")).toMatch(/^\d{10}$/);
    expect(ok.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(ok.headers.get("preqstation-token-expiration")).toBeNull();

    // The list never shows it again: only the hint.
    const list = await (await getPage(server, "/settings/api-keys", cookie)).text();
    expect(list).not.toContain(token);
    expect(list).toContain(`${token.slice(0, 9)}…${token.slice(-4)}`);
    expect(list).toContain("local-dev");
  });

  it("accepts the scheme in lower case", async () => {
    const res = await me(server, { Authorization: `bearer ${plaintexts[0]}` });
    expect(res.status).toBe(200);
  });

  it("a cookie-only request to /api/me is a 401, and so is a token in the query string", async () => {
    const cookieOnly = await me(server, { Cookie: cookie });
    expect(cookieOnly.status).toBe(401);
    expect(await cookieOnly.json()).toEqual(UNAUTHORIZED_BODY);
    expect(cookieOnly.headers.get("www-authenticate")).toBe('Bearer realm="preqstation"');

    const query = await me(server, {}, `?access_token=${plaintexts[0]}&token=${plaintexts[0]}`);
    expect(query.status).toBe(401);
  });

  it("the web pages never accept a bearer token", async () => {
    const res = await fetch(`${server.url}/settings/api-keys`, {
      redirect: "manual",
      headers: { Authorization: `Bearer ${plaintexts[0]}` },
    });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toMatch(/^\/login/);
  });

  it("revokes through the form, and the very next request is a 401", async () => {
    const id = await tokenIdByName(server, cookie, "local-dev");
    const res = await postForm(server, "/settings/api-keys", { intent: "revoke", token_id: id }, { cookie });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/settings/api-keys");

    const after = await me(server, { Authorization: `Bearer ${plaintexts[0]}` });
    expect(after.status).toBe(401);
    expect(await after.json()).toEqual(UNAUTHORIZED_BODY);
    expect(after.headers.get("www-authenticate")).toBe('Bearer realm="preqstation", error="invalid_token"');

    const page = await (await getPage(server, "/settings/api-keys", `${cookie}; ${flashFrom(res)}`)).text();
    expect(page).toContain("revoked. Requests with it are refused from now on.");
    expect(page).toMatch(/class="badge revoked">revoked</);
  });

  it("an expiring read-only token reports its expiry and gets a warning badge when it is near", async () => {
    const { tokens } = await createThroughForm(server, cookie, { name: "weekly", expires_in_days: "7", scope: "read" });
    plaintexts.push(tokens[0]!);
    const res = await me(server, { Authorization: `Bearer ${tokens[0]}` });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: { scope: string; expires_at: string } };
    expect(body.token.scope).toBe("read");
    const expires = Date.parse(body.token.expires_at);
    expect(Math.abs(expires - (Date.now() + 7 * 86_400_000))).toBeLessThan(60_000);
    expect(res.headers.get("preqstation-token-expiration")).toBe(body.token.expires_at);
    const page = await (await getPage(server, "/settings/api-keys", cookie)).text();
    expect(page).toContain("expires soon");
  });

  it("shows validation errors inline and creates nothing", async () => {
    const { res, html, tokens } = await createThroughForm(server, cookie, { name: "  ", expires_in_days: "5", scope: "admin" });
    expect(res.status).toBe(400);
    expect(tokens).toHaveLength(0);
    expect(html).toContain("Enter a name");
    expect(html).toContain("Choose an expiry from the list");
    expect(html).toContain("Choose full access or read only");
    const long = await createThroughForm(server, cookie, { name: "x".repeat(65), expires_in_days: "", scope: "full" });
    expect(long.res.status).toBe(400);
    expect(long.html).toContain("Use at most 64 characters");
  });

  it("a form post without scope, or with expires_in_days=never, makes a full token that never expires", async () => {
    const { res, tokens } = await createThroughForm(server, cookie, { name: "scripted", expires_in_days: "never" });
    expect(res.status).toBe(200);
    plaintexts.push(tokens[0]!);
    const body = await (await me(server, { Authorization: `Bearer ${tokens[0]}` })).json();
    expect(body).toEqual({ token: { name: "scripted", scope: "full", expires_at: null } });
    const page = await (await getPage(server, "/settings/api-keys", cookie)).text();
    expect(page).toMatch(/href="\/settings\/audit-logs\?actor=token:\d+"/);
  });

  it("an anonymous POST creates nothing and is sent to sign in", async () => {
    const res = await postForm(server, "/settings/api-keys", {
      intent: "create",
      name: "sneaky",
      expires_in_days: "",
      scope: "full",
    });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toMatch(/^\/login/);
    expect(await res.text()).not.toMatch(TOKEN_IN_HTML);
  });

  it("revoking an unknown id is a 404 with a message, not a 500", async () => {
    const res = await postForm(server, "/settings/api-keys", { intent: "revoke", token_id: "999999" }, { cookie });
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("That token does not exist.");
    const junk = await postForm(server, "/settings/api-keys", { intent: "revoke", token_id: "1; drop table" }, { cookie });
    expect(junk.status).toBe(400);
    const unknown = await postForm(server, "/settings/api-keys", { intent: "delete-everything" }, { cookie });
    expect(unknown.status).toBe(400);
  });

  it("CLI token create prints only the token; list shows no secret; revoke takes effect on the next request", async () => {
    const created = await runCli(["token", "create", "--name", "cli-made", "--expires-in-days", "3", "--scope", "full"], {
      dbPath: server.dbPath,
    });
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^preq_[A-Za-z0-9]{32}\n$/);
    const token = created.stdout.trim();
    plaintexts.push(token);
    const ok = await me(server, { Authorization: `Bearer ${token}` });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { token: { name: string } }).token.name).toBe("cli-made");

    const list = await runCli(["token", "list"], { dbPath: server.dbPath });
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/cli-made\s+preq_\w{4}…\w{4}\s+full\s+active/);
    expect(list.stdout).toMatch(/local-dev\s+preq_\w{4}…\w{4}\s+full\s+revoked/);
    expect(list.stdout).toMatch(/weekly\s+preq_\w{4}…\w{4}\s+read\s+active/);
    for (const p of plaintexts) expect(list.stdout).not.toContain(p);

    const id = /^(\d+)\s+cli-made/m.exec(list.stdout)?.[1];
    expect(id).toBeDefined();
    const revoked = await runCli(["token", "revoke", id!], { dbPath: server.dbPath });
    expect(revoked.code).toBe(0);
    expect((await me(server, { Authorization: `Bearer ${token}` })).status).toBe(401);

    const bad = await runCli(["token", "revoke", "424242"], { dbPath: server.dbPath });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("no token with id 424242");
    const noName = await runCli(["token", "create"], { dbPath: server.dbPath });
    expect(noName.code).not.toBe(0);
    expect(noName.stderr).toContain("--name is required");
    expect(noName.stdout).toBe("");
    const badDays = await runCli(["token", "create", "--name", "x", "--expires-in-days", "9999"], { dbPath: server.dbPath });
    expect(badDays.code).not.toBe(0);
    expect(badDays.stderr).toContain("--expires-in-days");
  });

  it("every create and revoke is in the audit log with its actor, and the chain verifies", async () => {
    const db = new SQLite(server.dbPath, { readonly: true, fileMustExist: true });
    try {
      const rows = db
        .prepare(
          "select action, actor_type, actor_label, resource_id, changes, request_id, ip from audit_log where resource_type = 'api_token' order by seq",
        )
        .all() as { action: string; actor_type: string; actor_label: string; changes: string; request_id: string; ip: string }[];
      expect(rows.map((r) => `${r.action}:${r.actor_type}`)).toEqual([
        "api_token.create:owner",
        "api_token.revoke:owner",
        "api_token.create:owner",
        "api_token.create:owner",
        "api_token.create:cli",
        "api_token.revoke:cli",
      ]);
      expect(rows[0]!.actor_label).toBe("owner@example.com");
      expect(rows[0]!.ip).toBe("127.0.0.1");
      expect(rows[0]!.request_id).toMatch(/^[0-9a-f-]{36}$/);
      for (const r of rows) for (const p of plaintexts) expect(r.changes).not.toContain(p);

      const events = db.prepare("select details, count from security_events where type = 'bearer_auth'").all() as {
        details: string;
      }[];
      const reasons = events.map((e) => (JSON.parse(e.details) as { reason: string }).reason);
      expect(reasons).toEqual(expect.arrayContaining(["missing", "revoked"]));
    } finally {
      db.close();
    }
    const verify = await runCli(["audit", "verify"], { dbPath: server.dbPath });
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain("Audit log OK: 6 entries");
  });

  it("the database file and its WAL never contain a plaintext token, and neither does the server log", () => {
    expect(plaintexts.length).toBeGreaterThanOrEqual(3);
    const files = [server.dbPath, `${server.dbPath}-wal`].filter((f) => fs.existsSync(f));
    expect(files).toContain(`${server.dbPath}-wal`);
    for (const file of files) {
      const bytes = fs.readFileSync(file);
      expect(bytes.length).toBeGreaterThan(0);
      for (const p of plaintexts) {
        expect(bytes.includes(Buffer.from(p))).toBe(false);
        // Not even the random part alone.
        expect(bytes.includes(Buffer.from(p.slice(5)))).toBe(false);
      }
    }
    // The hint is stored (so the search above does look at real token data).
    const all = Buffer.concat(files.map((f) => fs.readFileSync(f)));
    expect(all.includes(Buffer.from(`${plaintexts[0]!.slice(0, 9)}…${plaintexts[0]!.slice(-4)}`))).toBe(true);
    for (const p of plaintexts) expect(server.output()).not.toContain(p);
  });
});

describe("the bearer guard's limits and methods on the production server", () => {
  let server: TestServer;
  let token: string;

  beforeAll(async () => {
    server = await startServer({ env: { API_RATE_LIMIT: "3/1m" } });
    await setupOwner(server);
    const created = await runCli(["token", "create", "--name", "limited"], { dbPath: server.dbPath });
    token = created.stdout.trim();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("HEAD is served like GET, and an unsupported method is a 405 with Allow before authentication", async () => {
    const head = await fetch(`${server.url}/api/me`, { method: "HEAD", headers: { Authorization: `Bearer ${token}` } });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    expect(head.headers.get("x-ratelimit-limit")).toBe("3");
    const post = await fetch(`${server.url}/api/me`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expect(((await post.json()) as { error: { code: string } }).error.code).toBe("METHOD_NOT_ALLOWED");
  });

  it("over API_RATE_LIMIT a token gets 429 RATE_LIMITED with Retry-After and the X-RateLimit headers", async () => {
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 3; i++) {
      last = await me(server, { Authorization: `Bearer ${token}` });
      statuses.push(last.status);
    }
    // The HEAD above used one of the three.
    expect(statuses).toEqual([200, 200, 429]);
    expect(await last!.json()).toEqual({ error: { code: "RATE_LIMITED", message: expect.any(String) } });
    expect(Number(last!.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(last!.headers.get("x-ratelimit-limit")).toBe("3");
    expect(last!.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(Number(last!.headers.get("x-ratelimit-reset"))).toBeGreaterThan(Date.now() / 1000);
  });

  it("a client that keeps sending bad tokens is cut off with 429 before any lookup", async () => {
    let status = 0;
    let sent = 0;
    while (sent < 150) {
      const res = await me(server, { Authorization: "Bearer preq_nope" });
      sent += 1;
      status = res.status;
      if (status === 429) {
        expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
        break;
      }
      expect(status).toBe(401);
    }
    expect(status).toBe(429);
    expect(sent).toBe(101); // the failure budget is max(API_RATE_LIMIT count, 100) per 15 minutes

    const db = new SQLite(server.dbPath, { readonly: true, fileMustExist: true });
    try {
      const rows = db
        .prepare("select count(*) as rows, sum(count) as total from security_events where type = 'bearer_auth'")
        .get() as { rows: number; total: number };
      expect(rows.total).toBe(100); // every 401 is counted…
      expect(rows.rows).toBeLessThanOrEqual(2); // …in coalesced rows, not one row each
    } finally {
      db.close();
    }
  });
});
