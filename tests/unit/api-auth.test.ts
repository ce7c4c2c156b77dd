import type { AppLoadContext } from "@remix-run/node";
import { beforeEach, describe, expect, it } from "vitest";
import { requireToken, type TokenAuth } from "../../app/lib/api/guard.server";
import { nowIso } from "~/lib/db.server";
import { createApiToken, generateToken, hashToken, revokeApiToken, tokenHint } from "../../app/lib/tokens/tokens.server";
import type { Owner } from "../../db/schema";
import { testAudit as cli, testOwner, testServices, type TestServices } from "../support/kit";

const UNAUTHORIZED_BODY = { error: { code: "UNAUTHORIZED", message: "Missing or invalid authorization header" } };
const FORBIDDEN_BODY = { error: { code: "FORBIDDEN", message: "Insufficient permissions" } };
const REALM = 'Bearer realm="preqstation"';
const INVALID = 'Bearer realm="preqstation", error="invalid_token"';

let services: TestServices;
let owner: Owner;

async function build(env: Record<string, string> = {}) {
  services = await testServices({ env });
  owner = await testOwner(services.db);
}

function ctx(ip = "203.0.113.7"): AppLoadContext {
  return { services, request: { id: `req-${Math.random()}`, clientIp: ip, userAgent: "agent/1.0", cspNonce: "n" } };
}

function req(headers: Record<string, string> = {}, method = "GET", url = "http://localhost/api/me"): Request {
  return new Request(url, { method, headers });
}

/** Runs the guard and returns the Response it threw (fails the test if it did not throw one). */
async function rejection(promise: Promise<TokenAuth>): Promise<Response> {
  try {
    await promise;
  } catch (thrown) {
    if (thrown instanceof Response) return thrown;
    throw thrown;
  }
  throw new Error("expected requireToken to throw a Response");
}

async function newToken(options: { scope?: "full" | "read"; days?: number | null; now?: number } = {}) {
  return createApiToken(services.db, {
    ownerId: owner.id,
    name: "agent-token",
    scope: options.scope ?? "full",
    expiresInDays: options.days ?? null,
    audit: cli,
    now: options.now,
  });
}

async function events(type: string) {
  return services.db.selectFrom("security_events").selectAll().where("type", "=", type).execute();
}

beforeEach(() => build());

describe("requireToken: 401 cases", () => {
  it("a request with no Authorization header gets the exact 401 body and a bare realm challenge", async () => {
    const res = await rejection(requireToken(req(), ctx(), { write: false }));
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(UNAUTHORIZED_BODY);
    expect(res.headers.get("WWW-Authenticate")).toBe(REALM);
    expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
    const [event] = await events("bearer_auth");
    expect(event).toMatchObject({ outcome: "failure", ip: "203.0.113.7", path: "/api/me" });
    expect(JSON.parse(event!.details)).toEqual({ reason: "missing" });
  });

  it.each([
    ["a short token", "Bearer preq_abc"],
    ["a token with a wrong prefix", `Bearer prex_${"a".repeat(32)}`],
    ["a token with a symbol", `Bearer preq_${"a".repeat(31)}-`],
    ["a token one character too long", `Bearer preq_${"a".repeat(33)}`],
    ["two credentials", `Bearer preq_${"a".repeat(32)} preq_${"b".repeat(32)}`],
    ["an empty bearer", "Bearer"],
  ])("%s is malformed: 401 with error=invalid_token, never looked up", async (_label, header) => {
    const res = await rejection(requireToken(req({ Authorization: header }), ctx(), { write: false }));
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(UNAUTHORIZED_BODY);
    expect(res.headers.get("WWW-Authenticate")).toBe(INVALID);
    const [event] = await events("bearer_auth");
    expect(JSON.parse(event!.details)).toEqual({ reason: "malformed" });
  });

  it("another scheme (Basic) is a 401 without invalid_token, since no bearer token was presented", async () => {
    const res = await rejection(requireToken(req({ Authorization: "Basic dXNlcjpwYXNz" }), ctx(), { write: false }));
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(UNAUTHORIZED_BODY);
    expect(res.headers.get("WWW-Authenticate")).toBe(REALM);
  });

  it("a well-formed token that was never issued is 401 unknown", async () => {
    await newToken();
    const res = await rejection(requireToken(req({ Authorization: `Bearer ${generateToken()}` }), ctx(), { write: false }));
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(UNAUTHORIZED_BODY);
    expect(res.headers.get("WWW-Authenticate")).toBe(INVALID);
    expect(JSON.parse((await events("bearer_auth"))[0]!.details)).toEqual({ reason: "unknown" });
  });

  it("a revoked token gets 401 on the very next request", async () => {
    const { plaintext, summary } = await newToken();
    const auth = { Authorization: `Bearer ${plaintext}` };
    await expect(requireToken(req(auth), ctx(), { write: false })).resolves.toBeTruthy();
    await revokeApiToken(services.db, { ownerId: owner.id, id: summary.id, audit: cli });
    const res = await rejection(requireToken(req(auth), ctx(), { write: false }));
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(UNAUTHORIZED_BODY);
    expect(res.headers.get("WWW-Authenticate")).toBe(INVALID);
    expect(JSON.parse((await events("bearer_auth"))[0]!.details)).toEqual({ reason: "revoked", token_id: summary.id });
  });

  it("an expired token gets 401 expired", async () => {
    const { plaintext, summary } = await newToken({ days: 7, now: Date.now() - 8 * 86_400_000 });
    const res = await rejection(requireToken(req({ Authorization: `Bearer ${plaintext}` }), ctx(), { write: false }));
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(UNAUTHORIZED_BODY);
    expect(res.headers.get("WWW-Authenticate")).toBe(INVALID);
    expect(JSON.parse((await events("bearer_auth"))[0]!.details)).toEqual({ reason: "expired", token_id: summary.id });
  });

  it("a token in the query string, a cookie or the body is ignored", async () => {
    const { plaintext } = await newToken();
    const request = new Request(`http://localhost/api/me?access_token=${plaintext}&token=${plaintext}`, {
      method: "POST",
      headers: { Cookie: `session=${plaintext}; token=${plaintext}`, "Content-Type": "application/json" },
      body: JSON.stringify({ token: plaintext, access_token: plaintext }),
    });
    const res = await rejection(requireToken(request, ctx(), { write: true }));
    expect(res.status).toBe(401);
    expect(res.headers.get("WWW-Authenticate")).toBe(REALM);
  });

  it("repeated failures from one IP are coalesced into one security event row with a count", async () => {
    for (let i = 0; i < 5; i++) await rejection(requireToken(req({ Authorization: "Bearer nope" }), ctx(), { write: false }));
    const rows = await events("bearer_auth");
    expect(rows).toHaveLength(1);
    expect(rows[0]!.count).toBe(5);
  });
});

describe("requireToken: 403 cases", () => {
  it("a read token on a write gets the exact 403 and a forbidden event", async () => {
    const { plaintext, summary } = await newToken({ scope: "read" });
    const res = await rejection(requireToken(req({ Authorization: `Bearer ${plaintext}` }, "POST"), ctx(), { write: true }));
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual(FORBIDDEN_BODY);
    expect(res.headers.get("X-RateLimit-Limit")).toBe("100");
    const [event] = await events("forbidden");
    expect(event).toMatchObject({ outcome: "blocked" });
    expect(JSON.parse(event!.details)).toEqual({ reason: "read_scope", token_id: summary.id, method: "POST" });
  });

  it("among a hundred of the owner's tokens, each bearer authenticates as its own token, every time", async () => {
    const tokens = [];
    for (let i = 0; i < 100; i++) {
      const { plaintext, summary } = await createApiToken(services.db, {
        ownerId: owner.id,
        name: `agent-${i}`,
        scope: "full",
        expiresInDays: 30,
        audit: cli,
      });
      tokens.push({ plaintext, id: summary.id });
    }
    for (const { plaintext, id } of [...tokens, ...tokens.slice().reverse()]) {
      const auth = await requireToken(req({ Authorization: `Bearer ${plaintext}` }), ctx(), { write: false });
      expect(auth.token.id).toBe(id);
    }
  });

  it("a read token may read", async () => {
    const { plaintext } = await newToken({ scope: "read" });
    const auth = await requireToken(req({ Authorization: `Bearer ${plaintext}` }), ctx(), { write: false });
    expect(auth.token.scope).toBe("read");
  });

  it("a token whose owner is not this instance's owner gets 403, even for a read", async () => {
    const plaintext = generateToken();
    await services.db
      .insertInto("api_tokens")
      .values({
        owner_id: "someone-else",
        name: "orphan",
        token_hash: hashToken(plaintext),
        hint: tokenHint(plaintext),
        scope: "full",
        created_at: nowIso(),
        expires_at: null,
        revoked_at: null,
        last_used_at: null,
        last_used_ip: null,
      })
      .execute();
    const res = await rejection(requireToken(req({ Authorization: `Bearer ${plaintext}` }), ctx(), { write: false }));
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual(FORBIDDEN_BODY);
    expect(JSON.parse((await events("forbidden"))[0]!.details)).toMatchObject({ reason: "owner_mismatch" });
  });
});

describe("requireToken: success", () => {
  it.each(["Bearer", "bearer", "BEARER", "bEaReR"])("the scheme %s is accepted", async (scheme) => {
    const { plaintext } = await newToken();
    const auth = await requireToken(req({ Authorization: `${scheme} ${plaintext}` }), ctx(), { write: true });
    expect(auth.token.name).toBe("agent-token");
  });

  it("returns the token, a token command context and the rate-limit headers", async () => {
    const { plaintext, summary } = await newToken();
    const context = ctx("198.51.100.9");
    const auth = await requireToken(req({ Authorization: `Bearer ${plaintext}` }), context, { write: false });
    expect(auth.token.id).toBe(summary.id);
    expect(auth.ctx).toEqual({
      actor: { type: "token", id: String(summary.id), label: "agent-token" },
      ip: "198.51.100.9",
      userAgent: "agent/1.0",
      requestId: context.request.id,
      path: new URL(req({}).url).pathname,
      channel: "api",
    });
    expect(auth.headers.get("X-RateLimit-Limit")).toBe("100");
    expect(auth.headers.get("X-RateLimit-Remaining")).toBe("99");
    const reset = Number(auth.headers.get("X-RateLimit-Reset"));
    expect(reset).toBeGreaterThan(Date.now() / 1000);
    expect(reset).toBeLessThanOrEqual(Date.now() / 1000 + 2 * 15 * 60 + 1);
    expect(auth.headers.has("PreqStation-Token-Expiration")).toBe(false);
  });

  it("an expiring token's responses carry PreqStation-Token-Expiration", async () => {
    const { plaintext, summary } = await newToken({ days: 30 });
    const auth = await requireToken(req({ Authorization: `Bearer ${plaintext}` }), ctx(), { write: false });
    expect(auth.headers.get("PreqStation-Token-Expiration")).toBe(summary.expires_at);
    expect(summary.expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it("writes last-used time and IP on first use, then at most once a minute", async () => {
    const { plaintext, summary } = await newToken();
    const auth = { Authorization: `Bearer ${plaintext}` };
    const row = () => services.db.selectFrom("api_tokens").selectAll().where("id", "=", summary.id).executeTakeFirstOrThrow();
    await requireToken(req(auth), ctx("192.0.2.1"), { write: false });
    const first = await row();
    expect(first.last_used_ip).toBe("192.0.2.1");
    expect(first.last_used_at).not.toBeNull();

    await requireToken(req(auth), ctx("192.0.2.2"), { write: false });
    expect(await row()).toMatchObject({ last_used_at: first.last_used_at, last_used_ip: "192.0.2.1" });

    const old = nowIso(Date.now() - 61_000);
    await services.db.updateTable("api_tokens").set({ last_used_at: old }).where("id", "=", summary.id).execute();
    await requireToken(req(auth), ctx("192.0.2.3"), { write: false });
    const later = await row();
    expect(later.last_used_ip).toBe("192.0.2.3");
    expect(later.last_used_at! > old).toBe(true);
  });
});

describe("requireToken: rate limits", () => {
  it("over the per-token limit is a 429 with Retry-After and X-RateLimit headers, and a rate_limited event", async () => {
    await services.db.destroy();
    await build({ API_RATE_LIMIT: "3/15m" });
    const { plaintext } = await newToken();
    const auth = { Authorization: `Bearer ${plaintext}` };
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const ok = await requireToken(req(auth), ctx(), { write: false });
      remaining.push(ok.headers.get("X-RateLimit-Remaining")!);
    }
    expect(remaining).toEqual(["2", "1", "0"]);
    const res = await rejection(requireToken(req(auth), ctx(), { write: false }));
    expect(res.status).toBe(429);
    expect(await res.json()).toEqual({ error: { code: "RATE_LIMITED", message: expect.any(String) } });
    expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(res.headers.get("X-RateLimit-Limit")).toBe("3");
    expect(res.headers.get("X-RateLimit-Remaining")).toBe("0");
    expect(res.headers.get("X-RateLimit-Reset")).toMatch(/^\d+$/);
    expect(JSON.parse((await events("rate_limited"))[0]!.details)).toMatchObject({ limiter: "api" });

    // Another token has its own budget.
    const other = await newToken();
    await expect(
      requireToken(req({ Authorization: `Bearer ${other.plaintext}` }), ctx(), { write: false }),
    ).resolves.toBeTruthy();
  });

  it("a flood past the limit records a bounded number of events, not one disk write per request", async () => {
    await services.db.destroy();
    await build({ API_RATE_LIMIT: "2/15m" });
    const { plaintext } = await newToken();
    const auth = { Authorization: `Bearer ${plaintext}` };
    for (let i = 0; i < 2; i++) await requireToken(req(auth), ctx(), { write: false });
    let refused = 0;
    for (let i = 0; i < 20; i++) {
      const res = await rejection(requireToken(req(auth), ctx(), { write: false }));
      if (res.status === 429) refused += 1;
    }
    expect(refused).toBe(20);
    const rows = await events("rate_limited");
    expect(rows).toHaveLength(1); // coalesced
    expect(rows[0]!.count).toBe(2); // at most the limiter's max per window, then silence
  });

  it("an IP over its failed-attempt limit gets 429 before any lookup, even with a valid token; other IPs are unaffected", async () => {
    const { plaintext } = await newToken();
    const max = services.limiters.apiAuthFailures.spec.max;
    for (let i = 0; i < max; i++) {
      const res = await rejection(requireToken(req({ Authorization: "Bearer bad" }), ctx("203.0.113.50"), { write: false }));
      expect(res.status).toBe(401);
    }
    const res = await rejection(
      requireToken(req({ Authorization: `Bearer ${plaintext}` }), ctx("203.0.113.50"), { write: false }),
    );
    expect(res.status).toBe(429);
    expect((await res.json()).error.code).toBe("RATE_LIMITED");
    expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(JSON.parse((await events("rate_limited"))[0]!.details)).toEqual({ limiter: "api_auth_failures" });
    // The flood is one coalesced row, not `max` rows.
    expect(await events("bearer_auth")).toHaveLength(1);

    await expect(
      requireToken(req({ Authorization: `Bearer ${plaintext}` }), ctx("203.0.113.51"), { write: false }),
    ).resolves.toBeTruthy();
  });

  it("an IPv6 client cannot escape the failed-attempt limit by rotating addresses within its /64", async () => {
    const { plaintext } = await newToken();
    const max = services.limiters.apiAuthFailures.spec.max;
    for (let i = 0; i < max; i++) {
      const res = await rejection(
        requireToken(req({ Authorization: "Bearer bad" }), ctx(`2001:db8:1:2::${(i + 1).toString(16)}`), { write: false }),
      );
      expect(res.status).toBe(401);
    }
    const res = await rejection(
      requireToken(req({ Authorization: `Bearer ${plaintext}` }), ctx("2001:db8:1:2:ffff::1"), { write: false }),
    );
    expect(res.status).toBe(429);
    // Another /64 is another client.
    await expect(
      requireToken(req({ Authorization: `Bearer ${plaintext}` }), ctx("2001:db8:1:3::1"), { write: false }),
    ).resolves.toBeTruthy();
  });
});
