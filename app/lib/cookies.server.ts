import { createHmac } from "node:crypto";
import { createCookie, type Cookie } from "@remix-run/node";
import type { Config } from "./env.server";

/**
 * The one way this app makes a cookie. Every cookie is scoped by its name and its own
 * HMAC key, never by path: with JavaScript, Remix single fetch posts a form for `/login`
 * to `/login.data`, and a cookie with `Path=/login` is never sent there (RFC 6265
 * path-match needs a `/` after the prefix), which once locked the owner out of the
 * second-factor step. So the options below have no `path` to choose: it is always `/`,
 * and so are the other flags (HttpOnly, SameSite=Strict, Secure per COOKIE_SECURE).
 * A purpose-limited cookie enforces its purpose on the server (its own key, its own
 * value prefix, a server-side row), not through where the browser sends it.
 *
 * tests/unit/cookies.test.ts fails when any other module calls `createCookie`.
 */
export interface ScopedCookieOptions {
  /** The label the cookie's HMAC keys are derived under (one per purpose, e.g. `preqstation/session-cookie/v1`). */
  keyLabel: string;
  /** Seconds; what the browser keeps it for unless a serialize call says otherwise. */
  maxAgeSeconds: number;
}

/** The HMAC key for one SESSION_SECRET and one purpose: a value signed for another purpose never verifies. */
export function deriveCookieKey(secret: string, keyLabel: string): string {
  return createHmac("sha256", secret).update(keyLabel).digest("base64url");
}

/** A signed cookie named `name`, valid for the whole site (Path=/), keys derived from SESSION_SECRET for `keyLabel`. */
export function scopedCookie(
  name: string,
  config: Pick<Config, "sessionSecrets" | "cookieSecure">,
  options: ScopedCookieOptions,
): Cookie {
  return createCookie(name, {
    secrets: config.sessionSecrets.map((s) => deriveCookieKey(s, options.keyLabel)),
    httpOnly: true,
    secure: config.cookieSecure,
    sameSite: "strict",
    path: "/",
    maxAge: options.maxAgeSeconds,
  });
}
