/**
 * The HTTP side of the OAuth authorization server (contract §9): the discovery
 * documents, the RFC 6749 error body, and reading an authorization request's query.
 * The decisions are the domain's (app/lib/oauth/); this only speaks the protocol.
 */
import type { OAuthMetadata, OAuthProtectedResourceMetadata } from "@modelcontextprotocol/sdk/shared/auth.js";
import { SUPPORTED_SCOPES, CODE_CHALLENGE_PATTERN, normaliseScope } from "../oauth/rules";

export const AUTHORIZE_PATH = "/oauth/authorize";
export const TOKEN_PATH = "/oauth/token";
export const REGISTER_PATH = "/oauth/register";
export const REVOKE_PATH = "/oauth/revoke";
/** Called by native clients (no browser, no cookie): exempt from the pages' same-origin check. */
export const NATIVE_OAUTH_PATHS: ReadonlySet<string> = new Set([TOKEN_PATH, REGISTER_PATH, REVOKE_PATH]);

/** The protected resource: the MCP endpoint of this origin. */
export function mcpResource(origin: string): string {
  return `${origin}/mcp`;
}

/** RFC 9728 protected resource metadata for `/mcp`. */
export function protectedResourceMetadata(origin: string): OAuthProtectedResourceMetadata {
  return {
    resource: mcpResource(origin),
    authorization_servers: [origin],
    scopes_supported: [...SUPPORTED_SCOPES],
    bearer_methods_supported: ["header"],
    resource_name: "PreqStation MCP",
  };
}

/** RFC 8414 authorization server metadata: the issuer is the origin itself. */
export function authorizationServerMetadata(origin: string): OAuthMetadata {
  return {
    issuer: origin,
    authorization_endpoint: `${origin}${AUTHORIZE_PATH}`,
    token_endpoint: `${origin}${TOKEN_PATH}`,
    registration_endpoint: `${origin}${REGISTER_PATH}`,
    revocation_endpoint: `${origin}${REVOKE_PATH}`,
    response_types_supported: ["code"],
    grant_types_supported: ["authorization_code", "refresh_token"],
    code_challenge_methods_supported: ["S256"],
    token_endpoint_auth_methods_supported: ["none"],
    revocation_endpoint_auth_methods_supported: ["none"],
    scopes_supported: [...SUPPORTED_SCOPES],
  };
}

const NO_STORE = { "Cache-Control": "no-store", Pragma: "no-cache" };

/** A discovery document: public, cacheable for a few minutes, readable by browser-based clients. */
export function metadataResponse(body: unknown, request: Request): Response {
  if (request.method !== "GET" && request.method !== "HEAD")
    return oauthError("invalid_request", "Use GET", 405, { Allow: "GET, HEAD" });
  return Response.json(body, {
    headers: { "Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*" },
  });
}

/** A JSON answer of the token, registration or revocation endpoint (never cached). */
export function oauthJson(body: unknown, status = 200): Response {
  return Response.json(body, { status, headers: NO_STORE });
}

/** The RFC 6749 §5.2 error body (`error`, `error_description`), never cached. */
export function oauthError(error: string, description: string, status = 400, headers: Record<string, string> = {}): Response {
  return Response.json({ error, error_description: description }, { status, headers: { ...NO_STORE, ...headers } });
}

/** RFC 6749 §3.1: a parameter sent more than once is an invalid request. */
export function repeatedParameter(params: URLSearchParams): string | null {
  const seen = new Set<string>();
  for (const key of params.keys()) {
    if (seen.has(key)) return key;
    seen.add(key);
  }
  return null;
}

/** What the consent form carries back (hidden fields), as it was asked for. */
export interface AuthorizeParams {
  client_id: string;
  redirect_uri: string;
  state: string;
  code_challenge: string;
  code_challenge_method: string;
  scope: string;
  resource: string;
  response_type: string;
}

export const AUTHORIZE_FIELDS = [
  "response_type",
  "client_id",
  "redirect_uri",
  "state",
  "code_challenge",
  "code_challenge_method",
  "scope",
  "resource",
] as const satisfies readonly (keyof AuthorizeParams)[];

export function readAuthorizeParams(params: URLSearchParams): AuthorizeParams {
  const get = (name: string) => (params.get(name) ?? "").slice(0, 4096);
  return {
    client_id: get("client_id"),
    redirect_uri: get("redirect_uri"),
    state: get("state"),
    code_challenge: get("code_challenge"),
    code_challenge_method: get("code_challenge_method"),
    scope: get("scope"),
    resource: get("resource"),
    response_type: get("response_type"),
  };
}

/** The authorization URL that asks for `p` again (where sudo and sign-in come back to). */
export function authorizeUrl(p: AuthorizeParams): string {
  const q = new URLSearchParams();
  for (const name of AUTHORIZE_FIELDS) if (p[name] !== "") q.set(name, p[name]);
  return `${AUTHORIZE_PATH}?${q.toString()}`;
}

/**
 * Checks an authorization request whose client and redirect URI are already known
 * good: the error (RFC 6749 §4.1.2.1) to send back to the client, or null.
 */
export function authorizeRequestProblem(p: AuthorizeParams, origin: string): { error: string; description: string } | null {
  if (p.response_type !== "code") return { error: "unsupported_response_type", description: "response_type must be code" };
  if (p.code_challenge === "") return { error: "invalid_request", description: "code_challenge is required (PKCE)" };
  if (p.code_challenge_method !== "S256") return { error: "invalid_request", description: "code_challenge_method must be S256" };
  if (!CODE_CHALLENGE_PATTERN.test(p.code_challenge))
    return { error: "invalid_request", description: "code_challenge is malformed" };
  if (p.state.length > 1000) return { error: "invalid_request", description: "state is too long" };
  if (normaliseScope(p.scope) === null)
    return { error: "invalid_scope", description: `Supported scopes: ${SUPPORTED_SCOPES.join(" ")}` };
  if (p.resource !== "" && !resourceMatches(p.resource, origin)) {
    return { error: "invalid_target", description: `The only resource here is ${mcpResource(origin)}` };
  }
  return null;
}

/** Whether a `resource` indicator names this server's MCP endpoint (a trailing slash tolerated). */
export function resourceMatches(resource: string, origin: string): boolean {
  return resource === mcpResource(origin) || resource === `${mcpResource(origin)}/`;
}

/** The redirect back to the client with `params` (and `state`, and `iss` per RFC 9207). */
export function clientRedirect(redirectUri: string, params: Record<string, string>, state: string, origin: string): Response {
  const url = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  if (state !== "") url.searchParams.set("state", state);
  url.searchParams.set("iss", origin);
  return new Response(null, { status: 302, headers: { Location: url.toString(), ...NO_STORE } });
}
