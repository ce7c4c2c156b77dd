import type { AppLoadContext } from "@remix-run/node";
import type { ApiToken } from "../../../db/schema";
import { apiError } from "./errors.server";
import { throttleKey, type RateLimiter, type RateLimitState } from "../security/rate-limit.server";
import { preparedQuery } from "../prepared-query.server";
import { requestContext, tokenActor, type ActorContext } from "../domain/context";
import { recordEvent } from "../security/events.server";
import { hashToken, isWellFormedToken, tokenStatus, touchTokenUsage } from "../tokens/tokens.server";
import { checkAccessToken, grantActor, touchGrantUsage } from "../oauth/oauth.server";
import { isAccessToken, scopeAllowsWrite } from "../oauth/rules";

/*
 * The bearer guard of every authenticated `/api/*` route. Only the
 * `Authorization: Bearer preq_…` header counts: cookies, query strings and
 * bodies are never read. Every decision is made from the database on each
 * request (no cached validity), so revocation and expiry apply at once.
 *
 * Order of checks: the client IP's failed-attempt budget (429, before any
 * parsing or lookup) → header present (401 missing) → token format (401
 * malformed, no lookup) → lookup by SHA-256 (401 unknown / revoked / expired)
 * → the token's own budget (429) → owner (403) → scope (403).
 *
 * On `/mcp` (audience `mcp`) an OAuth access token (contract §9) is accepted too: it
 * goes through the same steps, with its grant in the place of the token row. On
 * `/api` it is refused (401): it was issued for the MCP resource only. The 401 on
 * `/mcp` names the protected resource metadata, where an OAuth client starts.
 */

/** The token with this hash and, in the same read, the current owner's id (a token of a replaced owner is refused). */
const tokenByHash = preparedQuery((db, p: { hash: string }) =>
  db
    .selectFrom("api_tokens")
    .selectAll("api_tokens")
    .select((eb) => eb.selectFrom("owners").select("owners.id").limit(1).as("current_owner_id"))
    .where("api_tokens.token_hash", "=", p.hash),
);

/** What a route gets for a request that passed the guard. */
export interface TokenAuth {
  /** The token row (never sent to clients). */
  token: ApiToken;
  /** Who asks (actor `{type: 'token', id, label: name}`), from where: the `ctx` of every command the request runs. */
  ctx: ActorContext;
  /** X-RateLimit-Limit/Remaining/Reset and, for expiring tokens, PreqStation-Token-Expiration. */
  headers: Headers;
  /**
   * Set when the request came with an OAuth access token: its grant. `token` then
   * stands for the grant (id = −grant id, name `oauth:<client name>`, scope `full`
   * for `tasks:write`, `read` for `tasks:read` only, expiry the access token's).
   */
  grant?: { id: number; clientName: string };
}

export type UnauthorizedReason = "missing" | "malformed" | "unknown" | "revoked" | "expired" | "wrong_audience";
/** Which resource a request is for: an OAuth access token is good for `/mcp` only. */
export type Audience = "api" | "mcp";

export const UNAUTHORIZED_MESSAGE = "Missing or invalid authorization header";
export const FORBIDDEN_MESSAGE = "Insufficient permissions";
const REALM = 'Bearer realm="preqstation"';

/** `Bearer <credentials>` with the scheme in any case; anything else is not a bearer attempt. */
const BEARER = /^bearer +(\S*) *$/i;

type ParsedAuthorization =
  | { kind: "missing" }
  | { kind: "malformed"; presented: boolean }
  | { kind: "token"; token: string }
  | { kind: "oauth"; token: string };

export function parseAuthorization(header: string | null): ParsedAuthorization {
  if (header === null || header.trim() === "") return { kind: "missing" };
  const match = BEARER.exec(header);
  // Another scheme (Basic, a bare value): no bearer token was presented.
  if (!match) return { kind: "malformed", presented: /^bearer(\s|$)/i.test(header.trimStart()) };
  const token = match[1] ?? "";
  if (isAccessToken(token)) return { kind: "oauth", token };
  if (!isWellFormedToken(token)) return { kind: "malformed", presented: true };
  return { kind: "token", token };
}

/** Throws a Response (401/403/429 in the documented shape) when the request may not proceed. */
export async function requireToken(
  request: Request,
  context: AppLoadContext,
  options: { write: boolean; audience?: Audience },
): Promise<TokenAuth> {
  const audience = options.audience ?? "api";
  const { db, limiters } = context.services;
  const ip = context.request.clientIp;
  const now = Date.now();

  // A client that keeps failing is stopped before any parsing or lookup. IPv6
  // clients count by /64, so rotating addresses inside one network gains nothing.
  const failures = limiters.apiAuthFailures.peek(throttleKey(ip));
  if (failures.remaining <= 0) {
    if (shouldRecordBlocked(limiters.apiAuthFailures, throttleKey(ip))) {
      await recordEvent(
        context.services.db,
        requestContext(request, context.request),
        { type: "rate_limited", outcome: "blocked", details: { limiter: "api_auth_failures" } },
        eventOptions(context),
      );
    }
    throw apiError("RATE_LIMITED", "Too many failed authentication attempts; retry later", {
      headers: { "Retry-After": String(failures.retryAfter) },
    });
  }

  const parsed = parseAuthorization(request.headers.get("authorization"));
  if (parsed.kind === "missing") throw await unauthorized(request, context, "missing", false, undefined, audience);
  if (parsed.kind === "malformed") throw await unauthorized(request, context, "malformed", parsed.presented, undefined, audience);
  if (parsed.kind === "oauth") {
    if (audience !== "mcp") throw await unauthorized(request, context, "wrong_audience", true);
    return requireAccessToken(request, context, parsed.token, now);
  }

  const found = await tokenByHash.first(db, { hash: hashToken(parsed.token) });
  if (!found) throw await unauthorized(request, context, "unknown", true, undefined, audience);
  const { current_owner_id: currentOwnerId, ...token } = found;
  const status = tokenStatus(token, now);
  if (status !== "active") throw await unauthorized(request, context, status, true, token.id, audience);

  // Every request with a genuine token counts against that token's budget, refused ones included.
  const limit = limiters.api.hit(`token:${token.id}`);
  const headers = new Headers(rateLimitHeaders(limit));
  if (token.expires_at) headers.set("PreqStation-Token-Expiration", token.expires_at);
  if (!limit.allowed) {
    if (shouldRecordBlocked(limiters.api, `token:${token.id}`)) {
      await recordEvent(
        context.services.db,
        requestContext(request, context.request),
        {
          type: "rate_limited",
          outcome: "blocked",
          details: { limiter: "api", token_id: token.id },
        },
        eventOptions(context),
      );
    }
    headers.set("Retry-After", String(limit.retryAfter));
    throw apiError("RATE_LIMITED", "Rate limit exceeded; retry later", { headers });
  }

  if (currentOwnerId !== token.owner_id) {
    throw await forbidden(request, context, token, "owner_mismatch", headers);
  }

  try {
    await touchTokenUsage(db, token, ip, now);
  } catch (error) {
    // Bookkeeping only: a read must not fail because last-used could not be written.
    context.services.logger.warn("could not record token use", { requestId: context.request.id, tokenId: token.id, error });
  }

  const ctx = { ...requestContext(request, context.request, tokenActor(token)), channel: "api" as const };
  const auth: TokenAuth = { token, ctx, headers };
  if (options.write) await requireWriteScope(request, context, auth);
  return auth;
}

/**
 * The OAuth branch of `requireToken` on `/mcp`: the grant behind the access token,
 * through the same budget, owner and scope checks as a `preq_` token. The grant's
 * tool calls are attributed to `oauth:<client name>`.
 */
async function requireAccessToken(request: Request, context: AppLoadContext, plaintext: string, now: number): Promise<TokenAuth> {
  const { db, limiters } = context.services;
  const check = await checkAccessToken(db, plaintext, now);
  if (!check.ok) throw await unauthorized(request, context, check.reason, true, undefined, "mcp");
  const { grant } = check;
  const token: ApiToken = {
    id: -grant.id,
    owner_id: grant.owner_id,
    name: `oauth:${grant.client_name}`,
    token_hash: "",
    hint: "oauth",
    scope: scopeAllowsWrite(grant.scope) ? "full" : "read",
    created_at: grant.created_at,
    expires_at: check.expiresAt,
    revoked_at: null,
    last_used_at: grant.last_used_at,
    last_used_ip: grant.last_used_ip,
  };
  const key = `oauth:${grant.id}`;
  const limit = limiters.api.hit(key);
  const headers = new Headers(rateLimitHeaders(limit));
  headers.set("PreqStation-Token-Expiration", check.expiresAt);
  if (!limit.allowed) {
    if (shouldRecordBlocked(limiters.api, key)) {
      await recordEvent(
        db,
        requestContext(request, context.request),
        { type: "rate_limited", outcome: "blocked", details: { limiter: "api", grant_id: grant.id } },
        eventOptions(context),
      );
    }
    headers.set("Retry-After", String(limit.retryAfter));
    throw apiError("RATE_LIMITED", "Rate limit exceeded; retry later", { headers });
  }
  if (check.currentOwnerId !== grant.owner_id) throw await forbidden(request, context, token, "owner_mismatch", headers);
  try {
    await touchGrantUsage(db, grant, context.request.clientIp, now);
  } catch (error) {
    context.services.logger.warn("could not record grant use", { requestId: context.request.id, grantId: grant.id, error });
  }
  const ctx = { ...requestContext(request, context.request, grantActor(grant)), channel: "mcp" as const };
  return {
    token,
    ctx,
    headers,
    grant: { id: grant.id, clientName: grant.client_name },
  };
}

/**
 * Throws the 403 (and records the security event) unless the token may write.
 * Called by `requireToken` for write methods, and by the MCP endpoint per tool
 * call (one HTTP method there carries reads and writes alike); `details` adds
 * what was attempted (the tool) to the event.
 */
export async function requireWriteScope(
  request: Request,
  context: AppLoadContext,
  auth: TokenAuth,
  details: Record<string, string> = {},
): Promise<void> {
  if (auth.token.scope !== "full") throw await forbidden(request, context, auth.token, "read_scope", auth.headers, details);
}

/**
 * Whether to record a security event for a request refused for being over a limit.
 * Each event is a durable (fsync'd) write, so recording every request of a flood
 * would hand the flood the disk the limit is there to protect. The events of one key
 * are themselves limited, by the same limiter under a key of their own: up to the
 * limiter's `max` per window (coalesced into one row a minute), then nothing until
 * the window slides.
 */
function shouldRecordBlocked(limiter: RateLimiter, key: string): boolean {
  return limiter.hit(`blocked-event:${key}`).allowed;
}

export function rateLimitHeaders(state: RateLimitState): Record<string, string> {
  return {
    "X-RateLimit-Limit": String(state.limit),
    "X-RateLimit-Remaining": String(state.remaining),
    "X-RateLimit-Reset": String(state.resetAt),
  };
}

async function unauthorized(
  request: Request,
  context: AppLoadContext,
  reason: UnauthorizedReason,
  presented: boolean,
  tokenId?: number,
  audience: Audience = "api",
): Promise<Response> {
  context.services.limiters.apiAuthFailures.hit(throttleKey(context.request.clientIp));
  await recordEvent(
    context.services.db,
    requestContext(request, context.request),
    {
      type: "bearer_auth",
      outcome: "failure",
      details: tokenId === undefined ? { reason } : { reason, token_id: tokenId },
    },
    eventOptions(context),
  );
  // On /mcp the challenge names the protected resource metadata (RFC 9728 §5.1), where an OAuth client starts.
  const challenge =
    audience === "mcp"
      ? `${REALM}, resource_metadata="${new URL(request.url).origin}/.well-known/oauth-protected-resource/mcp"`
      : REALM;
  return apiError("UNAUTHORIZED", UNAUTHORIZED_MESSAGE, {
    headers: { "WWW-Authenticate": presented ? `${challenge}, error="invalid_token"` : challenge },
  });
}

async function forbidden(
  request: Request,
  context: AppLoadContext,
  token: ApiToken,
  reason: "owner_mismatch" | "read_scope",
  headers: Headers,
  extra: Record<string, string> = {},
): Promise<Response> {
  await recordEvent(
    context.services.db,
    requestContext(request, context.request),
    {
      type: "forbidden",
      outcome: "blocked",
      // An OAuth grant stands in as a token with a negative id (TokenAuth.grant): name the grant.
      details: { ...extra, reason, ...(token.id < 0 ? { grant_id: -token.id } : { token_id: token.id }), method: request.method },
    },
    eventOptions(context),
  );
  return apiError("FORBIDDEN", FORBIDDEN_MESSAGE, { headers });
}

/**
 * How the guard records its events: coalesced per client so a flood adds to one row,
 * and best effort, so a failure to record is logged and never turns a 401/403/429 into a 500.
 */
function eventOptions(context: AppLoadContext) {
  return { coalesce: true, bestEffort: context.services.logger };
}
