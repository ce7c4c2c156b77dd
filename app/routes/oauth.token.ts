import type { ActionFunctionArgs } from "@remix-run/node";
import { requestContext } from "~/lib/domain/context";
import { readForm } from "~/lib/http/forms.server";
import { oauthError, oauthJson, repeatedParameter, resourceMatches } from "~/lib/http/oauth.server";
import {
  exchangeAuthorizationCode,
  findClient,
  refreshTokens,
  type IssuedTokens,
  type OAuthFailure,
} from "~/lib/oauth/oauth.server";

/**
 * The token endpoint (RFC 6749 §3.2, OAuth 2.1, contract §9): form-encoded,
 * public clients identified by `client_id`. `authorization_code` (with the PKCE
 * S256 verifier) and `refresh_token` (rotated on every use) only. Every refusal is
 * an RFC 6749 §5.2 JSON error; the domain records the ones that smell of an attack.
 */
export function loader() {
  return oauthError("invalid_request", "Use POST", 405, { Allow: "POST" });
}

export async function action({ request, context }: ActionFunctionArgs) {
  if (request.method !== "POST") return oauthError("invalid_request", "Use POST", 405, { Allow: "POST" });
  const form = await readForm(request);
  if (!form) return oauthError("invalid_request", "Send an application/x-www-form-urlencoded body of at most 64 KiB");
  const repeated = repeatedParameter(form);
  if (repeated) return oauthError("invalid_request", `${repeated.slice(0, 40)} was sent more than once`);

  const grantType = form.get("grant_type");
  // A public client names itself in the body; one that insists on HTTP Basic (an empty secret) is read from there.
  const clientId = form.get("client_id") ?? basicClientId(request.headers.get("authorization"));
  if (!grantType) return oauthError("invalid_request", "grant_type is required");
  if (grantType !== "authorization_code" && grantType !== "refresh_token") {
    return oauthError("unsupported_grant_type", "Supported: authorization_code, refresh_token");
  }
  if (!clientId) return oauthError("invalid_request", "client_id is required");
  const { services } = context;
  const client = await findClient(services.db, clientId);
  if (!client) return oauthError("invalid_client", "Unknown client", 401);
  const origin = new URL(request.url).origin;
  const resource = form.get("resource");
  if (resource !== null && !resourceMatches(resource, origin)) {
    return oauthError("invalid_target", `The only resource here is ${origin}/mcp`);
  }
  const ctx = requestContext(request, context.request);

  let result: IssuedTokens | OAuthFailure;
  if (grantType === "authorization_code") {
    const code = form.get("code");
    const codeVerifier = form.get("code_verifier");
    const redirectUri = form.get("redirect_uri");
    if (!code) return oauthError("invalid_request", "code is required");
    if (!codeVerifier) return oauthError("invalid_request", "code_verifier is required (PKCE)");
    if (!redirectUri) return oauthError("invalid_request", "redirect_uri is required");
    result = await exchangeAuthorizationCode(services, ctx, { clientId: client.id, code, codeVerifier, redirectUri });
  } else {
    const refreshToken = form.get("refresh_token");
    if (!refreshToken) return oauthError("invalid_request", "refresh_token is required");
    result = await refreshTokens(services, ctx, { clientId: client.id, refreshToken, scope: form.get("scope") });
  }
  if (!result.ok) return oauthError(result.error, result.description);
  const { ok: _ok, ...tokens } = result;
  return oauthJson(tokens);
}

/** The client id of an `Authorization: Basic` header (RFC 6749 §2.3.1: form-encoded, then base64), or null. */
function basicClientId(header: string | null): string | null {
  const match = header ? /^basic +([A-Za-z0-9+/=]+) *$/i.exec(header) : null;
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon <= 0) return null;
  try {
    return decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, " "));
  } catch {
    return null;
  }
}
