/**
 * The OAuth 2.1 authorization server's decisions (contract §9), as domain commands:
 * each runs in `runCommand` (one transaction) and writes its audit entry and security
 * events through it.
 * The HTTP layer (app/routes/oauth.*, the /mcp guard) only parses, calls one of these
 * and answers in the RFC's shape.
 *
 * The model: a registered client (public, no secret) → the owner's consent makes a
 * grant (scope, redirect URI) and a single-use code bound to a PKCE S256 challenge →
 * the code buys an access token (1 h) and a refresh token (30 days) of that grant →
 * each refresh spends its token and issues a new pair. A code or a refresh token
 * presented again after it was spent revokes the whole grant (someone else has a
 * copy), and revoking a grant stops every token of it on the next request.
 */
import type { OAuthClientRow, OAuthGrantRow } from "../../../db/schema";
import { runCommand, type CommandDeps, type CommandTx } from "../command/command.server";
import { nowIso, type Db } from "../db.server";
import { withActor, type Actor, type ActorContext, type RequestContext } from "../domain/context";
import { recordEvent } from "../security/events.server";
import {
  ACCESS_TOKEN_PREFIX,
  ACCESS_TOKEN_TTL_MS,
  CODE_PATTERN,
  CODE_PREFIX,
  CODE_TTL_MS,
  REFRESH_TOKEN_PATTERN,
  REFRESH_TOKEN_PREFIX,
  REFRESH_TOKEN_TTL_MS,
  UNUSED_CLIENT_TTL_MS,
  hashSecret,
  isAccessToken,
  newClientId,
  newSecret,
  normaliseScope,
  redirectUriRegistered,
  scopeAllowsWrite,
  verifierMatches,
} from "./rules";

export type OAuthDeps = CommandDeps;

/** The RFC 6749 / 7591 error codes the endpoints answer with. */
export type OAuthErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unsupported_grant_type"
  | "invalid_scope"
  | "invalid_target"
  | "invalid_client_metadata"
  | "invalid_redirect_uri";

export type OAuthFailure = { ok: false; error: OAuthErrorCode; description: string };

function failure(error: OAuthErrorCode, description: string): OAuthFailure {
  return { ok: false, error, description };
}

/** Who acts when a grant's client does something: `oauth:<client name>` in the audit log. */
export function grantActor(grant: Pick<OAuthGrantRow, "id" | "client_name">): Actor {
  return { type: "token", id: `oauth:${grant.id}`, label: `oauth:${grant.client_name}` };
}

function clientActor(client: Pick<OAuthClientRow, "id" | "client_name">): Actor {
  return { type: "token", id: `oauth-client:${client.id}`, label: `oauth:${client.client_name}` };
}

// ---------------------------------------------------------------- clients

export interface RegisteredClient {
  client_id: string;
  client_name: string;
  redirect_uris: string[];
  client_id_issued_at: number;
}

/**
 * Registers a public client (RFC 7591), after the caller validated the metadata
 * (redirect URIs: `redirectUriProblem`). Registrations unused for 30 days are deleted
 * on the way, so anonymous registrations cannot pile up. Audit `oauth.client_register`.
 */
export async function registerClient(
  deps: OAuthDeps,
  ctx: RequestContext,
  input: { clientName: string; redirectUris: string[] },
  now = Date.now(),
): Promise<RegisteredClient> {
  const row: OAuthClientRow = {
    id: newClientId(),
    client_name: input.clientName,
    redirect_uris: JSON.stringify(input.redirectUris),
    created_at: nowIso(now),
    created_ip: ctx.ip,
    last_used_at: null,
  };
  await runCommand(deps, ctx, async (tx) => {
    await deleteUnusedClients(tx.db, now);
    await tx.db.insertInto("oauth_clients").values(row).execute();
    await tx.audit(
      {
        action: "oauth.client_register",
        resourceType: "oauth_client",
        resourceId: row.id,
        changes: {
          client_name: { before: null, after: row.client_name },
          redirect_uris: { before: null, after: input.redirectUris },
        },
      },
      { as: withActor(ctx, clientActor(row)), now },
    );
  });
  return {
    client_id: row.id,
    client_name: row.client_name,
    redirect_uris: input.redirectUris,
    client_id_issued_at: Math.floor(now / 1000),
  };
}

/** A registered client that may still be used, or null (unknown, or unused for 30 days). */
export async function findClient(db: Db, clientId: string, now = Date.now()): Promise<OAuthClientRow | null> {
  if (clientId.length > 64) return null;
  const row = await db.selectFrom("oauth_clients").selectAll().where("id", "=", clientId).executeTakeFirst();
  if (!row) return null;
  if (Date.parse(row.last_used_at ?? row.created_at) <= now - UNUSED_CLIENT_TTL_MS && !(await hasLiveGrant(db, row.id))) {
    return null;
  }
  return row;
}

export function clientRedirectUris(client: OAuthClientRow): string[] {
  try {
    const parsed: unknown = JSON.parse(client.redirect_uris);
    return Array.isArray(parsed) ? parsed.filter((u): u is string => typeof u === "string") : [];
  } catch {
    return [];
  }
}

async function hasLiveGrant(db: Db, clientId: string): Promise<boolean> {
  const live = await db
    .selectFrom("oauth_grants")
    .select("id")
    .where("client_id", "=", clientId)
    .where("revoked_at", "is", null)
    .limit(1)
    .executeTakeFirst();
  return live !== undefined;
}

/** Deletes registrations unused for 30 days that hold no live grant. */
async function deleteUnusedClients(db: Db, now: number): Promise<void> {
  const cutoff = nowIso(now - UNUSED_CLIENT_TTL_MS);
  await db
    .deleteFrom("oauth_clients")
    .where((eb) =>
      eb.and([
        eb.or([eb.and([eb("last_used_at", "is", null), eb("created_at", "<=", cutoff)]), eb("last_used_at", "<=", cutoff)]),
        eb.not(
          eb.exists(
            eb
              .selectFrom("oauth_grants")
              .select("oauth_grants.id")
              .whereRef("oauth_grants.client_id", "=", "oauth_clients.id")
              .where("oauth_grants.revoked_at", "is", null),
          ),
        ),
      ]),
    )
    .execute();
}

/**
 * The hourly clean-up: unused registrations, spent or expired codes, and tokens
 * expired for a day (kept that long so a late replay of a spent refresh token is
 * still recognised as reuse).
 */
export async function pruneOAuth(db: Db, now = Date.now()): Promise<void> {
  await deleteUnusedClients(db, now);
  await db
    .deleteFrom("oauth_codes")
    .where("expires_at", "<=", nowIso(now - 86_400_000))
    .execute();
  await db
    .deleteFrom("oauth_tokens")
    .where("expires_at", "<=", nowIso(now - 86_400_000))
    .execute();
}

// ---------------------------------------------------------------- authorization

export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  /** As requested; null when it names an unknown scope. */
  scope: string;
  codeChallenge: string;
}

export type ClientCheck =
  | { ok: true; client: OAuthClientRow; redirectUri: string }
  | { ok: false; reason: "unknown_client" | "unregistered_redirect_uri" };

/**
 * Whether the client exists and `redirectUri` is one of its registered URIs (an
 * empty one stands for the client's only URI, when it registered exactly one): the
 * check made before anything is shown or any redirect is sent (an unknown client or
 * redirect URI is an error page, never a redirect). With `ctx`, a refusal is
 * recorded as a security event (a redirect URI that was never registered is how a
 * code would be stolen).
 */
export async function checkAuthorizationClient(
  db: Db,
  input: { clientId: string; redirectUri: string; now?: number },
  ctx?: RequestContext,
): Promise<ClientCheck> {
  const now = input.now ?? Date.now();
  const client = await findClient(db, input.clientId, now);
  let result: ClientCheck;
  if (!client) result = { ok: false, reason: "unknown_client" };
  else {
    const registered = clientRedirectUris(client);
    const redirectUri = input.redirectUri === "" && registered.length === 1 ? registered[0]! : input.redirectUri;
    result = redirectUriRegistered(redirectUri, registered)
      ? { ok: true, client, redirectUri }
      : { ok: false, reason: "unregistered_redirect_uri" };
  }
  if (!result.ok && ctx) {
    await recordEvent(db, ctx, oauthEvent(result.reason, { client_id: input.clientId.slice(0, 64) }), { coalesce: true });
  }
  return result;
}

/**
 * The owner allowed the client (the consent page's Allow): a grant with the scope
 * and a code (60 s, single use, bound to the PKCE challenge and the redirect URI).
 * Everything is checked again here, whatever the page showed. Audit `oauth.grant`.
 */
export async function approveAuthorization(
  deps: OAuthDeps,
  ctx: ActorContext,
  input: AuthorizationRequest & { ownerId: string },
  now = Date.now(),
): Promise<
  | { ok: true; code: string; grantId: number }
  | { ok: false; reason: "unknown_client" | "unregistered_redirect_uri" | "invalid_scope" }
> {
  const scope = normaliseScope(input.scope);
  if (scope === null) return { ok: false, reason: "invalid_scope" };
  return runCommand(deps, ctx, async (tx) => {
    const trx = tx.db;
    const checked = await checkAuthorizationClient(trx, { ...input, now });
    if (!checked.ok) return checked;
    const { client, redirectUri } = checked;
    const grant = await trx
      .insertInto("oauth_grants")
      .values({
        owner_id: input.ownerId,
        client_id: client.id,
        client_name: client.client_name,
        redirect_uri: redirectUri,
        scope,
        created_at: nowIso(now),
        last_used_at: null,
        last_used_ip: null,
        revoked_at: null,
        revoked_reason: null,
      })
      .returning(["id"])
      .executeTakeFirstOrThrow();
    const code = newSecret(CODE_PREFIX);
    await trx
      .insertInto("oauth_codes")
      .values({
        code_hash: hashSecret(code),
        grant_id: grant.id,
        client_id: client.id,
        redirect_uri: redirectUri,
        code_challenge: input.codeChallenge,
        created_at: nowIso(now),
        expires_at: nowIso(now + CODE_TTL_MS),
        used_at: null,
      })
      .execute();
    await trx
      .updateTable("oauth_clients")
      .set({ last_used_at: nowIso(now) })
      .where("id", "=", client.id)
      .execute();
    await tx.audit(
      {
        action: "oauth.grant",
        resourceType: "oauth_grant",
        resourceId: String(grant.id),
        changes: {
          client_name: { before: null, after: client.client_name },
          client_id: { before: null, after: client.id },
          redirect_uri: { before: null, after: redirectUri },
          scope: { before: null, after: scope },
        },
      },
      { now },
    );
    return { ok: true, code, grantId: grant.id } as const;
  });
}

// ---------------------------------------------------------------- tokens

export interface IssuedTokens {
  ok: true;
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  refresh_token: string;
  scope: string;
}

async function issueTokens(trx: Db, grant: Pick<OAuthGrantRow, "id" | "scope">, now: number): Promise<IssuedTokens> {
  const access = newSecret(ACCESS_TOKEN_PREFIX);
  const refresh = newSecret(REFRESH_TOKEN_PREFIX);
  await trx
    .insertInto("oauth_tokens")
    .values([
      {
        token_hash: hashSecret(access),
        grant_id: grant.id,
        kind: "access",
        created_at: nowIso(now),
        expires_at: nowIso(now + ACCESS_TOKEN_TTL_MS),
        used_at: null,
      },
      {
        token_hash: hashSecret(refresh),
        grant_id: grant.id,
        kind: "refresh",
        created_at: nowIso(now),
        expires_at: nowIso(now + REFRESH_TOKEN_TTL_MS),
        used_at: null,
      },
    ])
    .execute();
  return {
    ok: true,
    access_token: access,
    token_type: "Bearer",
    expires_in: ACCESS_TOKEN_TTL_MS / 1000,
    refresh_token: refresh,
    scope: grant.scope,
  };
}

/**
 * Revokes a grant inside the command's transaction (unless it already is), with its
 * `oauth.revoke` entry, written as `actor` (the owner, or the grant's client).
 */
async function revokeGrantIn(
  tx: CommandTx,
  actor: ActorContext,
  grant: OAuthGrantRow,
  reason: string,
  now: number,
): Promise<boolean> {
  const revokedAt = nowIso(now);
  const updated = await tx.db
    .updateTable("oauth_grants")
    .set({ revoked_at: revokedAt, revoked_reason: reason })
    .where("id", "=", grant.id)
    .where("revoked_at", "is", null)
    .returning(["id"])
    .executeTakeFirst();
  if (!updated) return false;
  await tx.audit(
    {
      action: "oauth.revoke",
      resourceType: "oauth_grant",
      resourceId: String(grant.id),
      changes: { revoked_at: { before: null, after: revokedAt }, reason: { before: null, after: reason } },
    },
    { as: actor, now },
  );
  return true;
}

function oauthEvent(reason: string, details: Record<string, unknown> = {}) {
  return { type: "oauth" as const, outcome: "failure" as const, details: { reason, ...details } };
}

/**
 * `grant_type=authorization_code`: spends the code (one conditional update, so two
 * racing exchanges cannot both win) and issues the grant's tokens. A code presented
 * after it was spent revokes the grant it created; a wrong verifier spends the code
 * too (no guessing at it). Security events for unknown codes, reuse and bad verifiers.
 */
export async function exchangeAuthorizationCode(
  deps: OAuthDeps,
  ctx: RequestContext,
  input: { clientId: string; code: string; codeVerifier: string; redirectUri: string },
  now = Date.now(),
): Promise<IssuedTokens | OAuthFailure> {
  const at = nowIso(now);
  const outcome = await runCommand(deps, ctx, async (tx) => {
    const trx = tx.db;
    const row = CODE_PATTERN.test(input.code)
      ? await trx.selectFrom("oauth_codes").selectAll().where("code_hash", "=", hashSecret(input.code)).executeTakeFirst()
      : undefined;
    if (!row) {
      await tx.event(oauthEvent("unknown_code", { client_id: input.clientId }), { coalesce: true });
      return failure("invalid_grant", "The authorization code is invalid or expired");
    }
    const grant = await trx.selectFrom("oauth_grants").selectAll().where("id", "=", row.grant_id).executeTakeFirstOrThrow();
    const spent = await trx
      .updateTable("oauth_codes")
      .set({ used_at: at })
      .where("code_hash", "=", row.code_hash)
      .where("used_at", "is", null)
      .returning(["code_hash"])
      .executeTakeFirst();
    if (!spent) {
      // A second use: whoever holds a copy must not keep what the first use issued.
      await revokeGrantIn(tx, withActor(ctx, grantActor(grant)), grant, "code_reused", now);
      await tx.event(oauthEvent("code_reused", { grant_id: grant.id, client_id: row.client_id }));
      return failure("invalid_grant", "The authorization code was already used");
    }
    if (row.client_id !== input.clientId) {
      await tx.event(oauthEvent("code_client_mismatch", { grant_id: grant.id }));
      return failure("invalid_grant", "The authorization code was issued to another client");
    }
    if (row.redirect_uri !== input.redirectUri) {
      await tx.event(oauthEvent("code_redirect_mismatch", { grant_id: grant.id }));
      return failure("invalid_grant", "redirect_uri does not match the authorization request");
    }
    if (Date.parse(row.expires_at) <= now) {
      await tx.event(oauthEvent("code_expired", { grant_id: grant.id }), { coalesce: true });
      return failure("invalid_grant", "The authorization code is invalid or expired");
    }
    if (!verifierMatches(input.codeVerifier, row.code_challenge)) {
      await tx.event(oauthEvent("bad_verifier", { grant_id: grant.id }));
      return failure("invalid_grant", "code_verifier does not match the code challenge");
    }
    if (grant.revoked_at !== null) return failure("invalid_grant", "The grant was revoked");
    await trx.updateTable("oauth_clients").set({ last_used_at: at }).where("id", "=", grant.client_id).execute();
    return issueTokens(trx, grant, now);
  });
  return outcome;
}

/**
 * `grant_type=refresh_token`: spends the refresh token and issues a new pair (the
 * rotation of OAuth 2.1 for public clients). A spent one presented again revokes the
 * grant: the client and a thief both held it, and only one of them should have.
 */
export async function refreshTokens(
  deps: OAuthDeps,
  ctx: RequestContext,
  input: { clientId: string; refreshToken: string; scope: string | null },
  now = Date.now(),
): Promise<IssuedTokens | OAuthFailure> {
  const at = nowIso(now);
  return runCommand(deps, ctx, async (tx) => {
    const trx = tx.db;
    const row = REFRESH_TOKEN_PATTERN.test(input.refreshToken)
      ? await trx
          .selectFrom("oauth_tokens")
          .selectAll()
          .where("token_hash", "=", hashSecret(input.refreshToken))
          .where("kind", "=", "refresh")
          .executeTakeFirst()
      : undefined;
    if (!row) {
      await tx.event(oauthEvent("unknown_refresh_token", { client_id: input.clientId }), { coalesce: true });
      return failure("invalid_grant", "The refresh token is invalid or expired");
    }
    const grant = await trx.selectFrom("oauth_grants").selectAll().where("id", "=", row.grant_id).executeTakeFirstOrThrow();
    if (grant.client_id !== input.clientId) {
      await tx.event(oauthEvent("refresh_client_mismatch", { grant_id: grant.id }));
      return failure("invalid_grant", "The refresh token was issued to another client");
    }
    if (grant.revoked_at !== null) return failure("invalid_grant", "The grant was revoked");
    const spent = await trx
      .updateTable("oauth_tokens")
      .set({ used_at: at })
      .where("token_hash", "=", row.token_hash)
      .where("used_at", "is", null)
      .returning(["token_hash"])
      .executeTakeFirst();
    if (!spent) {
      await revokeGrantIn(tx, withActor(ctx, grantActor(grant)), grant, "refresh_token_reused", now);
      await tx.event(oauthEvent("refresh_token_reused", { grant_id: grant.id, client_id: grant.client_id }));
      return failure("invalid_grant", "The refresh token was already used; the grant is revoked");
    }
    if (Date.parse(row.expires_at) <= now) return failure("invalid_grant", "The refresh token is invalid or expired");
    if (input.scope !== null) {
      const asked = normaliseScope(input.scope);
      // A refresh may narrow nothing here and never widen: only the granted scope (or a subset of it) is accepted.
      if (asked === null || (scopeAllowsWrite(asked) && !scopeAllowsWrite(grant.scope))) {
        return failure("invalid_scope", "The requested scope exceeds the grant");
      }
    }
    await trx.updateTable("oauth_clients").set({ last_used_at: at }).where("id", "=", grant.client_id).execute();
    return issueTokens(trx, grant, now);
  });
}

/**
 * RFC 7009: a client gives back a token (access or refresh); its whole grant is
 * revoked. Anything unknown, malformed or already revoked is a no-op: the endpoint
 * answers 200 whatever happens here.
 */
export async function revokeByToken(
  deps: OAuthDeps,
  ctx: RequestContext,
  input: { token: string },
  now = Date.now(),
): Promise<void> {
  if (!isAccessToken(input.token) && !REFRESH_TOKEN_PATTERN.test(input.token)) return;
  await runCommand(deps, ctx, async (tx) => {
    const trx = tx.db;
    const row = await trx
      .selectFrom("oauth_tokens")
      .select("grant_id")
      .where("token_hash", "=", hashSecret(input.token))
      .executeTakeFirst();
    if (!row) return;
    const grant = await trx.selectFrom("oauth_grants").selectAll().where("id", "=", row.grant_id).executeTakeFirstOrThrow();
    await revokeGrantIn(tx, withActor(ctx, grantActor(grant)), grant, "client_revoked", now);
  });
}

// ---------------------------------------------------------------- the owner's connections

export interface GrantSummary {
  id: number;
  client_name: string;
  redirect_uri: string;
  scope: string;
  created_at: string;
  last_used_at: string | null;
  last_used_ip: string | null;
}

/** The owner's live grants, newest first (no secrets, no hashes). */
export async function listGrants(db: Db, ownerId: string): Promise<GrantSummary[]> {
  return db
    .selectFrom("oauth_grants")
    .select(["id", "client_name", "redirect_uri", "scope", "created_at", "last_used_at", "last_used_ip"])
    .where("owner_id", "=", ownerId)
    .where("revoked_at", "is", null)
    .orderBy("id", "desc")
    .execute();
}

/** The owner revokes a grant (the Connections page): its tokens stop on their next request. Audit `oauth.revoke`. */
export async function revokeGrant(
  deps: OAuthDeps,
  ctx: ActorContext,
  input: { ownerId: string; grantId: number },
  now = Date.now(),
): Promise<{ ok: true; clientName: string } | { ok: false; reason: "not_found" }> {
  return runCommand(deps, ctx, async (tx) => {
    const grant = await tx.db
      .selectFrom("oauth_grants")
      .selectAll()
      .where("id", "=", input.grantId)
      .where("owner_id", "=", input.ownerId)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    if (!grant) return { ok: false, reason: "not_found" } as const;
    await revokeGrantIn(tx, ctx, grant, "owner_revoked", now);
    return { ok: true, clientName: grant.client_name } as const;
  });
}

// ---------------------------------------------------------------- access tokens on /mcp

export type AccessCheck =
  | { ok: true; grant: OAuthGrantRow; expiresAt: string; currentOwnerId: string | null }
  | { ok: false; reason: "unknown" | "revoked" | "expired" };

/** The grant behind an access token, from the database on every request (revocation applies at once). */
export async function checkAccessToken(db: Db, plaintext: string, now = Date.now()): Promise<AccessCheck> {
  if (!isAccessToken(plaintext)) return { ok: false, reason: "unknown" };
  const row = await db
    .selectFrom("oauth_tokens")
    .innerJoin("oauth_grants", "oauth_grants.id", "oauth_tokens.grant_id")
    .selectAll("oauth_grants")
    .select(["oauth_tokens.expires_at as token_expires_at"])
    .select((eb) => eb.selectFrom("owners").select("owners.id").limit(1).as("current_owner_id"))
    .where("oauth_tokens.token_hash", "=", hashSecret(plaintext))
    .where("oauth_tokens.kind", "=", "access")
    .executeTakeFirst();
  if (!row) return { ok: false, reason: "unknown" };
  const { token_expires_at: expiresAt, current_owner_id: currentOwnerId, ...grant } = row;
  if (grant.revoked_at !== null) return { ok: false, reason: "revoked" };
  if (Date.parse(expiresAt) <= now) return { ok: false, reason: "expired" };
  return { ok: true, grant, expiresAt, currentOwnerId };
}

/** Last used (time, IP) of a grant, written at most once a minute, like a token's. */
export async function touchGrantUsage(db: Db, grant: OAuthGrantRow, ip: string, now = Date.now()): Promise<void> {
  if (grant.last_used_at !== null && now - Date.parse(grant.last_used_at) < 60_000) return;
  await db
    .updateTable("oauth_grants")
    .set({ last_used_at: nowIso(now), last_used_ip: ip })
    .where("id", "=", grant.id)
    .execute();
}
