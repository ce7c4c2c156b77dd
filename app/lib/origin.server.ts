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
    return refOrigin !== null && trusted(refOrigin)
      ? { ok: true }
      : { ok: false, reason: "referer_mismatch", seen: refOrigin };
  }
  return { ok: false, reason: "no_origin_headers", seen: null };
}
