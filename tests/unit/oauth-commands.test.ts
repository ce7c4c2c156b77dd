/**
 * The OAuth domain commands on a real SQLite file (the full services, migrated), with
 * the clock passed in: what expires when, and what a refusal leaves behind.
 */
import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ownerActor, type RequestContext } from "~/lib/domain/context";
import {
  approveAuthorization,
  checkAccessToken,
  exchangeAuthorizationCode,
  findClient,
  pruneOAuth,
  refreshTokens,
  registerClient,
  revokeGrant,
} from "~/lib/oauth/oauth.server";
import { testOwner, testServices } from "../support/kit";

const DAY = 86_400_000;
const REDIRECT = "http://127.0.0.1:7000/callback";
const anonymous: RequestContext = { requestId: "r", ip: "203.0.113.9", userAgent: "vitest", path: "/oauth/token", actor: null };

function pkce() {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

async function setup() {
  const services = await testServices();
  const owner = await testOwner(services.db);
  const ownerCtx = { ...anonymous, path: "/oauth/authorize", actor: ownerActor(owner) };
  return { services, owner, ownerCtx };
}

describe("OAuth registrations", () => {
  it("forgets a registration unused for 30 days, and prunes it, unless it holds a live grant", async () => {
    const { services, owner, ownerCtx } = await setup();
    const t0 = Date.parse("2026-12-01T00:00:00Z");
    const idle = await registerClient(services, anonymous, { clientName: "Idle", redirectUris: [REDIRECT] }, t0);
    const used = await registerClient(services, anonymous, { clientName: "Used", redirectUris: [REDIRECT] }, t0);
    const { challenge } = pkce();
    const approved = await approveAuthorization(
      services,
      ownerCtx,
      { ownerId: owner.id, clientId: used.client_id, redirectUri: REDIRECT, scope: "tasks:read", codeChallenge: challenge },
      t0,
    );
    expect(approved.ok).toBe(true);

    expect(await findClient(services.db, idle.client_id, t0 + 29 * DAY)).not.toBeNull();
    expect(await findClient(services.db, idle.client_id, t0 + 30 * DAY + 1)).toBeNull();
    await pruneOAuth(services.db, t0 + 31 * DAY);
    const left = await services.db.selectFrom("oauth_clients").select("client_name").execute();
    expect(left.map((r) => r.client_name)).toEqual(["Used"]);
    expect(await findClient(services.db, used.client_id, t0 + 31 * DAY)).not.toBeNull();
  });
});

describe("OAuth codes and tokens", () => {
  async function granted(scope = "tasks:read tasks:write") {
    const ctx = await setup();
    const t0 = Date.parse("2026-12-01T00:00:00Z");
    const client = await registerClient(ctx.services, anonymous, { clientName: "Agent", redirectUris: [REDIRECT] }, t0);
    const { verifier, challenge } = pkce();
    const approved = await approveAuthorization(
      ctx.services,
      ctx.ownerCtx,
      {
        ownerId: ctx.owner.id,
        clientId: client.client_id,
        redirectUri: "http://127.0.0.1:7123/callback", // another loopback port: the same registered URI
        scope,
        codeChallenge: challenge,
      },
      t0,
    );
    if (!approved.ok) throw new Error(approved.reason);
    return { ...ctx, t0, client, verifier, code: approved.code, grantId: approved.grantId };
  }

  it("refuses a code after its 60 seconds, and a code sent with another redirect URI", async () => {
    const g = await granted();
    const late = await exchangeAuthorizationCode(
      g.services,
      anonymous,
      { clientId: g.client.client_id, code: g.code, codeVerifier: g.verifier, redirectUri: "http://127.0.0.1:7123/callback" },
      g.t0 + 60_001,
    );
    expect(late).toMatchObject({ ok: false, error: "invalid_grant" });

    const h = await granted();
    const elsewhere = await exchangeAuthorizationCode(
      h.services,
      anonymous,
      { clientId: h.client.client_id, code: h.code, codeVerifier: h.verifier, redirectUri: REDIRECT },
      h.t0 + 1_000,
    );
    expect(elsewhere).toMatchObject({ ok: false, error: "invalid_grant" });
  });

  it("issues a 1-hour access token for /mcp and a refresh token that rotates, each refusing after it expires", async () => {
    const g = await granted("tasks:read");
    const issued = await exchangeAuthorizationCode(
      g.services,
      anonymous,
      { clientId: g.client.client_id, code: g.code, codeVerifier: g.verifier, redirectUri: "http://127.0.0.1:7123/callback" },
      g.t0 + 1_000,
    );
    if (!issued.ok) throw new Error(issued.description);
    expect(issued).toMatchObject({ token_type: "Bearer", expires_in: 3600, scope: "tasks:read" });
    expect((await checkAccessToken(g.services.db, issued.access_token, g.t0 + 3_600_000)).ok).toBe(true);
    expect(await checkAccessToken(g.services.db, issued.access_token, g.t0 + 3_601_001)).toEqual({
      ok: false,
      reason: "expired",
    });

    // A refresh may not widen the grant.
    const wider = await refreshTokens(
      g.services,
      anonymous,
      { clientId: g.client.client_id, refreshToken: issued.refresh_token, scope: "tasks:write" },
      g.t0 + 2_000,
    );
    expect(wider).toMatchObject({ ok: false, error: "invalid_scope" });

    const h = await granted();
    const first = await exchangeAuthorizationCode(
      h.services,
      anonymous,
      { clientId: h.client.client_id, code: h.code, codeVerifier: h.verifier, redirectUri: "http://127.0.0.1:7123/callback" },
      h.t0 + 1_000,
    );
    if (!first.ok) throw new Error(first.description);
    const expired = await refreshTokens(
      h.services,
      anonymous,
      { clientId: h.client.client_id, refreshToken: first.refresh_token, scope: null },
      h.t0 + 31 * DAY,
    );
    expect(expired).toMatchObject({ ok: false, error: "invalid_grant" });
  });

  it("lets the owner revoke only a live grant of their own, once", async () => {
    const g = await granted();
    expect(await revokeGrant(g.services, g.ownerCtx, { ownerId: "someone-else", grantId: g.grantId })).toEqual({
      ok: false,
      reason: "not_found",
    });
    expect(await revokeGrant(g.services, g.ownerCtx, { ownerId: g.owner.id, grantId: g.grantId })).toEqual({
      ok: true,
      clientName: "Agent",
    });
    expect(await revokeGrant(g.services, g.ownerCtx, { ownerId: g.owner.id, grantId: g.grantId })).toMatchObject({ ok: false });
    const entries = await g.services.db
      .selectFrom("audit_log")
      .select(["action", "actor_type"])
      .where("action", "like", "oauth.%")
      .execute();
    expect(entries).toEqual([
      { action: "oauth.client_register", actor_type: "token" },
      { action: "oauth.grant", actor_type: "owner" },
      { action: "oauth.revoke", actor_type: "owner" },
    ]);
  });
});
