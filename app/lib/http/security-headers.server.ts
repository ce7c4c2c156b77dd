/**
 * The headers every response carries, set by the request handler after the route ran:
 * the request id, a Content-Security-Policy (a script nonce for documents, a script-free
 * policy for JSON), and the fixed hardening headers.
 */

/** The policy for a document (scripts only with this request's nonce) or for the API and MCP (nothing at all). */
export function contentSecurityPolicy(nonce: string, isApi: boolean, formActionOrigin: string | null = null): string {
  if (isApi) return "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    formActionOrigin ? `form-action 'self' ${formActionOrigin}` : "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** What the headers depend on. */
export interface SecurityHeaderOptions {
  /** The CSP script nonce of a document ("" for JSON). */
  nonce: string;
  /** A JSON (API or MCP) response: the script-free policy. */
  isApi: boolean;
  requestId: string;
  /** The request came over HTTPS: Strict-Transport-Security too. */
  https: boolean;
}

/**
 * A page whose form is answered with a redirect to another origin (the OAuth consent
 * form, whose Allow and Deny redirect to the client's registered URI) names that
 * origin in this response header; it is moved into `form-action` (browsers check a
 * form's redirects against it) and never sent. Only a bare origin is taken.
 */
export const FORM_ACTION_ORIGIN_HEADER = "X-Preq-Form-Action-Origin";

function formActionOrigin(headers: Headers): string | null {
  const value = headers.get(FORM_ACTION_ORIGIN_HEADER);
  if (value === null) return null;
  headers.delete(FORM_ACTION_ORIGIN_HEADER);
  try {
    const url = new URL(value);
    return (url.protocol === "https:" || url.protocol === "http:") && url.origin === value ? value : null;
  } catch {
    return null;
  }
}

export function applySecurityHeaders(headers: Headers, { nonce, isApi, requestId, https }: SecurityHeaderOptions): void {
  headers.set("X-Request-Id", requestId);
  headers.set("Content-Security-Policy", contentSecurityPolicy(nonce, isApi, isApi ? null : formActionOrigin(headers)));
  headers.set("X-Content-Type-Options", "nosniff");
  headers.set("X-Frame-Options", "DENY");
  headers.set("Referrer-Policy", "same-origin");
  headers.set("Cross-Origin-Opener-Policy", "same-origin");
  headers.set("Cross-Origin-Resource-Policy", "same-origin");
  headers.set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()");
  if (https) headers.set("Strict-Transport-Security", "max-age=31536000");
  if (!headers.has("Cache-Control")) headers.set("Cache-Control", "no-store");
}

/** The response with the security headers, copied once if its headers are immutable (a fetched or static response). */
export function withSecurityHeaders(response: Response, options: SecurityHeaderOptions): Response {
  try {
    applySecurityHeaders(response.headers, options);
    return response;
  } catch {
    const copy = new Response(response.body, response);
    applySecurityHeaders(copy.headers, options);
    return copy;
  }
}
