import { randomBytes } from "node:crypto";
import type { Cookie } from "@remix-run/node";
import { deriveCookieKey, scopedCookie } from "../cookies.server";
import type { Config } from "../env.server";

/**
 * Device cookies (OWASP "Slow Down Online Guessing Attacks with Device Cookies"):
 * after a successful sign-in the browser gets a long-lived `device` cookie naming
 * the owner and a random device id, signed with HMAC-SHA256. Sign-in attempts that
 * carry a valid one are limited per device; every other attempt shares one strict
 * budget for untrusted clients. So a distributed guesser is throttled account-wide,
 * while the owner's own browsers keep their own budget and cannot be locked out by it.
 *
 * The cookie is never a credential: it only picks which throttle applies. It is
 * signed with a key derived from SESSION_SECRET for this purpose alone, and its value
 * has its own prefix, so it can never pass as a session cookie (nor a session cookie
 * as a device cookie).
 */
export interface Device {
  ownerId: string;
  /** Random, 128 bits, base64url. */
  id: string;
}

const VALUE_PREFIX = "dev1.";
const VALUE_PATTERN = /^dev1\.([0-9a-f-]{36})\.([A-Za-z0-9_-]{22})$/;
/** A year: the cookie outlives sessions so that a browser stays known between sign-ins. */
export const DEVICE_COOKIE_MAX_AGE_SECONDS = 365 * 86_400;

const KEY_LABEL = "preqstation/device-cookie/v1";

/** The device cookie's HMAC key for one SESSION_SECRET: a different purpose than the session key. */
export function deriveDeviceKey(secret: string): string {
  return deriveCookieKey(secret, KEY_LABEL);
}

export function createDeviceCookie(config: Pick<Config, "sessionSecrets" | "cookieSecure">): Cookie {
  return scopedCookie("device", config, { keyLabel: KEY_LABEL, maxAgeSeconds: DEVICE_COOKIE_MAX_AGE_SECONDS });
}

export function newDevice(ownerId: string): Device {
  return { ownerId, id: randomBytes(16).toString("base64url") };
}

/**
 * The device named by the request's `device` cookie, or null when it is missing,
 * tampered with, signed with an unknown key or malformed (untrusted input fails soft).
 */
export async function readDevice(cookie: Cookie, cookieHeader: string | null): Promise<Device | null> {
  if (!cookieHeader) return null;
  let value: unknown;
  try {
    value = await cookie.parse(cookieHeader);
  } catch {
    return null;
  }
  if (typeof value !== "string") return null;
  const m = VALUE_PATTERN.exec(value);
  return m ? { ownerId: m[1]!, id: m[2]! } : null;
}

/** The Set-Cookie header for a device cookie (signed with the first secret). */
export function serializeDeviceCookie(cookie: Cookie, device: Device): Promise<string> {
  return cookie.serialize(`${VALUE_PREFIX}${device.ownerId}.${device.id}`);
}
