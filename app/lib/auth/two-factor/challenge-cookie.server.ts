import type { Cookie } from "@remix-run/node";
import { deriveCookieKey, scopedCookie } from "../../cookies.server";
import type { Config } from "../../env.server";
import { LOGIN_CHALLENGE_ID_PATTERN, LOGIN_CHALLENGE_TTL_MS } from "./login-challenge.server";

/**
 * The `login_challenge` cookie (contract §6): it names the server-side challenge a
 * correct password opened, for the `code` step of `/login` (Max-Age=300, HttpOnly,
 * SameSite=Strict, Secure per COOKIE_SECURE, and Path=/ like every cookie here: with
 * JavaScript the code step posts to `/login.data`, which `Path=/login` does not
 * reach; `scopedCookie` has no path to choose). It is never a
 * session (pitfall 29): its own name, its own HMAC key derived from SESSION_SECRET for
 * this purpose alone, its own value format (`lc1_` + 256 random bits), looked up in its
 * own table by a differently labelled hash. A missing, tampered or malformed value is
 * no challenge.
 */
export const LOGIN_CHALLENGE_COOKIE = "login_challenge";

const KEY_LABEL = "preqstation/login-challenge-cookie/v1";

/** The challenge cookie's HMAC key for one SESSION_SECRET (not the session, device or flash key). */
export function deriveLoginChallengeKey(secret: string): string {
  return deriveCookieKey(secret, KEY_LABEL);
}

/** The challenge cookie for `config`: built for the sign-in step that uses it, never cached at module level. */
export function loginChallengeCookie(config: Pick<Config, "sessionSecrets" | "cookieSecure">): Cookie {
  return scopedCookie(LOGIN_CHALLENGE_COOKIE, config, { keyLabel: KEY_LABEL, maxAgeSeconds: LOGIN_CHALLENGE_TTL_MS / 1000 });
}

/** The challenge id the request's cookie carries, or null. */
export async function readLoginChallengeId(
  config: Pick<Config, "sessionSecrets" | "cookieSecure">,
  cookieHeader: string | null,
): Promise<string | null> {
  if (!cookieHeader || !cookieHeader.includes(`${LOGIN_CHALLENGE_COOKIE}=`)) return null;
  let value: unknown;
  try {
    value = await loginChallengeCookie(config).parse(cookieHeader);
  } catch {
    return null;
  }
  return typeof value === "string" && LOGIN_CHALLENGE_ID_PATTERN.test(value) ? value : null;
}

export function setLoginChallengeCookie(config: Pick<Config, "sessionSecrets" | "cookieSecure">, id: string): Promise<string> {
  return loginChallengeCookie(config).serialize(id);
}

export function clearLoginChallengeCookie(config: Pick<Config, "sessionSecrets" | "cookieSecure">): Promise<string> {
  return loginChallengeCookie(config).serialize("", { maxAge: 0, expires: new Date(0) });
}
