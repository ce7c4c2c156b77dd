/**
 * The rules of PreqStation's OAuth 2.1 authorization server (contract §9), with no
 * I/O: scopes, what a redirect URI may be and when one matches a registered one,
 * PKCE S256, and the shapes of the secrets handed out. The commands that store and
 * check codes and tokens are beside this file.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export const SCOPE_READ = "tasks:read";
export const SCOPE_WRITE = "tasks:write";
export const SUPPORTED_SCOPES = [SCOPE_READ, SCOPE_WRITE] as const;

/** Lifetimes: a code 60 s, an access token 1 h, a refresh token 30 days; an unused registration 30 days. */
export const CODE_TTL_MS = 60_000;
export const ACCESS_TOKEN_TTL_MS = 60 * 60_000;
export const REFRESH_TOKEN_TTL_MS = 30 * 86_400_000;
export const UNUSED_CLIENT_TTL_MS = 30 * 86_400_000;

export const CLIENT_NAME_MAX = 100;
export const REDIRECT_URIS_MAX = 10;
export const REDIRECT_URI_MAX_LENGTH = 2000;

/**
 * The secrets, each with a prefix that says what it is (so a leaked value is
 * recognisable, and an access token is never mistaken for a `preq_` API token or a
 * refresh token): 32 random bytes, base64url.
 */
export const ACCESS_TOKEN_PREFIX = "pqoa_";
export const REFRESH_TOKEN_PREFIX = "pqor_";
export const CODE_PREFIX = "pqoc_";
export const CLIENT_ID_PREFIX = "pqcl_";
const SECRET_BODY = "[A-Za-z0-9_-]{43}";
export const ACCESS_TOKEN_PATTERN = new RegExp(`^${ACCESS_TOKEN_PREFIX}${SECRET_BODY}$`);
export const REFRESH_TOKEN_PATTERN = new RegExp(`^${REFRESH_TOKEN_PREFIX}${SECRET_BODY}$`);
export const CODE_PATTERN = new RegExp(`^${CODE_PREFIX}${SECRET_BODY}$`);
export const CLIENT_ID_PATTERN = /^pqcl_[A-Za-z0-9_-]{22}$/;

export function newSecret(prefix: string): string {
  return `${prefix}${randomBytes(32).toString("base64url")}`;
}

export function newClientId(): string {
  return `${CLIENT_ID_PREFIX}${randomBytes(16).toString("base64url")}`;
}

/** Only the SHA-256 (hex) of a code or token is stored. */
export function hashSecret(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("hex");
}

export function isAccessToken(value: string): boolean {
  return ACCESS_TOKEN_PATTERN.test(value);
}

/** RFC 7636: a verifier is 43–128 characters of `[A-Za-z0-9-._~]`; a S256 challenge is 43 base64url characters. */
export const CODE_VERIFIER_PATTERN = /^[A-Za-z0-9._~-]{43,128}$/;
export const CODE_CHALLENGE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** Whether `verifier` hashes (S256) to `challenge`; compared in constant time. */
export function verifierMatches(verifier: string, challenge: string): boolean {
  if (!CODE_VERIFIER_PATTERN.test(verifier)) return false;
  const computed = Buffer.from(createHash("sha256").update(verifier, "ascii").digest("base64url"));
  const expected = Buffer.from(challenge);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}

/**
 * The scope a request asks for, normalised (`tasks:write` implies `tasks:read`), or
 * null when it names anything else. No scope at all asks for both.
 */
export function normaliseScope(requested: string | null | undefined): string | null {
  const parts = (requested ?? "").split(" ").filter((s) => s !== "");
  if (parts.length === 0) return `${SCOPE_READ} ${SCOPE_WRITE}`;
  if (parts.some((s) => !(SUPPORTED_SCOPES as readonly string[]).includes(s))) return null;
  return parts.includes(SCOPE_WRITE) ? `${SCOPE_READ} ${SCOPE_WRITE}` : SCOPE_READ;
}

export function scopeAllowsWrite(scope: string): boolean {
  return scope.split(" ").includes(SCOPE_WRITE);
}

/** What the consent page and the connections page say for a scope. */
export function describeScope(scope: string): string {
  return scopeAllowsWrite(scope) ? "read and write tasks and projects" : "read tasks and projects (read only)";
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * Why a redirect URI cannot be registered, or null when it can: an absolute `https`
 * URL, or `http` on a loopback host (RFC 8252 §7.3), with no fragment and no
 * credentials. (Private-use schemes are not accepted: the MCP clients use loopback.)
 */
export function redirectUriProblem(value: string): string | null {
  if (value.length > REDIRECT_URI_MAX_LENGTH) return `must be at most ${REDIRECT_URI_MAX_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "must be an absolute URL";
  }
  if (url.hash !== "" || value.includes("#")) return "must not have a fragment";
  if (url.username !== "" || url.password !== "") return "must not carry credentials";
  if (url.protocol === "https:") return null;
  if (url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname)) return null;
  return "must be https, or http on localhost, 127.0.0.1 or [::1]";
}

/**
 * Whether `requested` is one of the registered redirect URIs: the exact string, or,
 * for a loopback registration, the same URL on any port (RFC 8252 §7.3: a native
 * client picks a free port at run time). Nothing else is loosened: scheme, host,
 * path and query must be equal.
 */
export function redirectUriRegistered(requested: string, registered: readonly string[]): boolean {
  if (registered.includes(requested)) return true;
  if (redirectUriProblem(requested) !== null) return false;
  const want = new URL(requested);
  if (want.protocol !== "http:" || !LOOPBACK_HOSTS.has(want.hostname)) return false;
  return registered.some((entry) => {
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      return false;
    }
    if (url.protocol !== "http:" || url.hostname !== want.hostname) return false;
    return url.pathname === want.pathname && url.search === want.search;
  });
}

/** The host the consent and connections pages name for a redirect URI. */
export function redirectHost(uri: string): string {
  try {
    return new URL(uri).host;
  } catch {
    return uri;
  }
}
