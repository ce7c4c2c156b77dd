import type { Cookie } from "@remix-run/node";
import { deriveCookieKey, scopedCookie } from "../cookies.server";
import type { Config } from "../env.server";

/**
 * "Done" notices (password changed, sessions signed out, token revoked): the action
 * that did the work sets a short-lived signed `flash` cookie on its redirect, and the
 * next GET of a page shows it once and clears it (the Epic Stack's toast, without the
 * session). The text is the server's own, so a crafted link cannot make a page claim
 * something that did not happen, and nothing about it sits in the URL or the history.
 *
 * The cookie is signed with a key derived from SESSION_SECRET for this purpose alone,
 * and its value carries its own prefix: it never verifies as a session or device
 * cookie, nor they as a flash. A missing, tampered or foreign value is no notice.
 */
type FlashConfig = Pick<Config, "sessionSecrets" | "cookieSecure">;

const VALUE_PREFIX = "flash1.";
/** Long enough for the redirect to be followed, short enough that a stale notice is gone. */
export const FLASH_MAX_AGE_SECONDS = 60;
/** The longest notice kept; a page's notices are one sentence. */
export const MAX_FLASH_TEXT = 300;

const KEY_LABEL = "preqstation/flash-cookie/v1";

/** The flash cookie's HMAC key for one SESSION_SECRET: a different purpose than the session and device keys. */
export function deriveFlashKey(secret: string): string {
  return deriveCookieKey(secret, KEY_LABEL);
}

/**
 * The flash cookie for `config`: built when a notice is set or read (one key derivation
 * per secret), never cached at module level, so no module holds state of its own.
 */
export function flashCookie(config: FlashConfig): Cookie {
  return scopedCookie("flash", config, { keyLabel: KEY_LABEL, maxAgeSeconds: FLASH_MAX_AGE_SECONDS });
}

/** The Set-Cookie header that carries `text` to the next page the browser loads. */
export function setFlash(config: FlashConfig, text: string): Promise<string> {
  return flashCookie(config).serialize(`${VALUE_PREFIX}${text.slice(0, MAX_FLASH_TEXT)}`);
}

/**
 * The notice this request carries (null when none, or when the cookie does not
 * verify), and the headers for the response: when a flash cookie was sent at all,
 * they clear it, so a notice is shown once.
 */
export async function readFlash(request: Request, config: FlashConfig): Promise<{ text: string | null; headers: Headers }> {
  const headers = new Headers();
  const header = request.headers.get("cookie");
  if (!header || !/(?:^|;)\s*flash=/.test(header)) return { text: null, headers };
  const cookie = flashCookie(config);
  headers.append("Set-Cookie", await cookie.serialize("", { maxAge: 0, expires: new Date(0) }));
  let value: unknown;
  try {
    value = await cookie.parse(header);
  } catch {
    return { text: null, headers };
  }
  if (typeof value !== "string" || !value.startsWith(VALUE_PREFIX)) return { text: null, headers };
  const text = value.slice(VALUE_PREFIX.length);
  return { text: text === "" ? null : text.slice(0, MAX_FLASH_TEXT), headers };
}
