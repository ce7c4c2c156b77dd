import { isIP } from "node:net";

export type OriginCheck = { ok: true } | { ok: false; reason: string; seen: string | null };

/**
 * The same-origin check for state-changing page requests: the Origin header if
 * present, else Sec-Fetch-Site, else the Referer's origin, must be this server's
 * own origin (or one of ALLOWED_ORIGINS). A request with none of the three fails.
 */
export function checkSameOrigin(request: Request, allowedOrigins: readonly string[]): OriginCheck {
  const own = new URL(request.url).origin;
  const trusted = (origin: string) => origin === own || allowedOrigins.includes(origin);

  const origin = request.headers.get("origin");
  if (origin !== null) {
    return trusted(origin) ? { ok: true } : { ok: false, reason: "origin_mismatch", seen: origin.slice(0, 200) };
  }
  const site = request.headers.get("sec-fetch-site");
  if (site !== null) {
    return site === "same-origin" ? { ok: true } : { ok: false, reason: "sec_fetch_site", seen: site.slice(0, 50) };
  }
  const referer = request.headers.get("referer");
  if (referer !== null) {
    let refOrigin: string | null = null;
    try {
      refOrigin = new URL(referer).origin;
    } catch {
      // an unparsable Referer is a failure below
    }
    return refOrigin !== null && trusted(refOrigin) ? { ok: true } : { ok: false, reason: "referer_mismatch", seen: refOrigin };
  }
  return { ok: false, reason: "no_origin_headers", seen: null };
}

/** The origins a deployment names itself: PUBLIC_ORIGIN and ALLOWED_ORIGINS. */
export interface NamedOrigins {
  publicOrigin: string | null;
  allowedOrigins: readonly string[];
}

/**
 * The check for an endpoint that browsers must not drive but agents call without an
 * Origin (`/mcp`), closed against DNS rebinding: a page at `http://evil.example:3000`
 * whose name is made to resolve to this server sends `Host: evil.example:3000` and the
 * same Origin, so "Origin equals the request's own origin" proves nothing there.
 *
 * - With PUBLIC_ORIGIN set, the request's host (the Host header, or with TRUST_PROXY the
 *   proxy's X-Forwarded-Host: what the request URL was built from) must be that origin's
 *   host, default ports folded (`preq.example.com:443` is `https://preq.example.com`).
 * - A present Origin must be PUBLIC_ORIGIN or in ALLOWED_ORIGINS when either is set (a
 *   name taken from the request itself no longer counts); with neither set, it must be
 *   the request's own origin, as before.
 */
export function checkEndpointOrigin(request: Request, named: NamedOrigins): OriginCheck {
  const url = new URL(request.url);
  if (named.publicOrigin !== null) {
    const expected = new URL(named.publicOrigin);
    if (foldedHost(url.host, expected.protocol) !== expected.host) {
      return { ok: false, reason: "host_mismatch", seen: url.host.slice(0, 200) };
    }
  }
  const origin = request.headers.get("origin");
  if (origin === null) return { ok: true };
  const listed = named.publicOrigin === null ? named.allowedOrigins : [named.publicOrigin, ...named.allowedOrigins];
  const trusted = listed.length > 0 ? listed.includes(origin) : origin === url.origin;
  return trusted ? { ok: true } : { ok: false, reason: "origin_mismatch", seen: origin.slice(0, 200) };
}

/** A `host[:port]` as a URL of `protocol` spells it: lowercased, its default port dropped. */
function foldedHost(host: string, protocol: string): string {
  try {
    return new URL(`${protocol}//${host}`).host;
  } catch {
    return host;
  }
}

/**
 * Whether a Host (or X-Forwarded-Host) value is `hostname[:port]` and nothing else:
 * a DNS name or IPv4 address (letters, digits, `-`, `_`, dot-separated labels of at
 * most 63 characters, an optional trailing dot) or an IPv6 literal in brackets,
 * then an optional port of 1–5 digits up to 65535. User info, paths, queries,
 * fragments, spaces and percent-escapes are all refused.
 */
export function isValidHost(value: string): boolean {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_-]{1,63}(?:\.[A-Za-z0-9_-]{1,63})*\.?))(?::(\d{1,5}))?$/.exec(value);
  if (!m) return false;
  if (m[1] !== undefined && isIP(m[1]) !== 6) return false;
  if (m[2] !== undefined && m[2].length > 253) return false;
  return m[3] === undefined || Number(m[3]) <= 65_535;
}

export type RequestOrigin =
  | { ok: true; protocol: "http:" | "https:"; host: string }
  | { ok: false; reason: "invalid_host" | "invalid_forwarded_host" | "invalid_target" };

/**
 * The scheme and host a request's URL is built from, before anything routes on it.
 * The host is the Host header, or with TRUST_PROXY the last X-Forwarded-Host entry
 * (the one the proxy wrote) when present; either must pass `isValidHost`. The scheme
 * is the socket's, or with TRUST_PROXY the last X-Forwarded-Proto entry when it is
 * `http` or `https`. The request target must be in origin form (`/path?query`), so
 * that the URL `${protocol}//${host}${target}` has exactly the request line's path:
 * no header can choose what is routed.
 */
export function requestOrigin(
  input: {
    host: string | undefined;
    forwardedHost: string | undefined;
    forwardedProto: string | undefined;
    target: string | undefined;
    encrypted: boolean;
  },
  trustProxy: boolean,
): RequestOrigin {
  if (!input.target?.startsWith("/")) return { ok: false, reason: "invalid_target" };
  // HTTP/1.0 may omit Host (Node refuses an HTTP/1.1 request without one).
  const host = input.host ?? "localhost";
  if (!isValidHost(host)) return { ok: false, reason: "invalid_host" };
  let protocol: "http:" | "https:" = input.encrypted ? "https:" : "http:";
  let effectiveHost = host;
  if (trustProxy) {
    if (input.forwardedHost !== undefined) {
      const forwarded = input.forwardedHost.split(",").at(-1)!.trim();
      if (!isValidHost(forwarded)) return { ok: false, reason: "invalid_forwarded_host" };
      effectiveHost = forwarded;
    }
    const proto = input.forwardedProto?.split(",").at(-1)!.trim().toLowerCase();
    if (proto === "http" || proto === "https") protocol = `${proto}:`;
  }
  return { ok: true, protocol, host: effectiveHost };
}
