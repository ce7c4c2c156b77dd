import type { Cookie } from "@remix-run/node";
import type { Db } from "../db.server";
import type { RequestContext } from "../domain/context";
import { readDevice, type Device } from "./device-cookie.server";
import { recordEvent } from "../security/events.server";
import { throttleKey, type RateLimiter } from "../security/rate-limit.server";

/**
 * The one guard in front of every password, code (and setup-code) check: sign-in and
 * its code step, setup, `/sudo`, password change, and the TOTP codes that confirm an
 * enrolment or turn TOTP off (pitfall 37). An attempt is counted *before* the slow check, so parallel
 * guesses cannot all pass a check made before any of them was counted; the caller
 * gives the slots back (`release`) when the attempt must not count (a form error,
 * or it succeeded).
 *
 * Layers, each answered with 429 and Retry-After and recorded as a `login_throttled` event:
 * - `ip`: failures per client IP (IPv6: per /64), LOGIN_RATE_LIMIT. Always.
 * - with `account: true` (every check but setup), one more, chosen by the device cookie:
 *   - `device`: a valid device cookie of this owner: failures per device, LOGIN_RATE_LIMIT,
 *     so a device that fails too often is itself locked out for the window;
 *   - `untrusted`: anything else: one budget shared by every client, LOGIN_UNTRUSTED_RATE_LIMIT,
 *     so guessing from many addresses is throttled account-wide, while the owner's
 *     known browsers keep signing in.
 */
export type AttemptScope = "ip" | "device" | "untrusted";

export type AttemptGuard =
  | {
      allowed: true;
      /** The valid device cookie the attempt carried (sign-in only), or null. */
      device: Device | null;
      /** Gives back every slot this attempt took: it must not count. */
      release(): void;
    }
  | { allowed: false; scope: AttemptScope; retryAfter: number };

/** What the guard needs of the services (`context.services` has all of it). */
export interface AttemptGuardDeps {
  db: Db;
  deviceCookie: Cookie;
  limiters: { login: RateLimiter; loginDevice: RateLimiter; loginUntrusted: RateLimiter };
}

/**
 * Takes the attempt's slots, or refuses it (recording the `login_throttled` event).
 * The page answers a refusal with 429 and `Retry-After: retryAfter`; the command that
 * checks the password gives the slots back when the attempt must not count.
 */
export async function guardAttempt(
  deps: AttemptGuardDeps,
  ctx: RequestContext,
  options: {
    via: "login" | "setup" | "password_change" | "sudo" | "two_factor";
    account: boolean;
    /** The request's Cookie header: the device cookie is read from it when `account` is set. */
    cookieHeader: string | null;
  },
): Promise<AttemptGuard> {
  const { limiters, db, deviceCookie } = deps;
  const taken: Array<[RateLimiter, string]> = [];
  const release = () => {
    for (const [limiter, key] of taken) limiter.release(key);
    taken.length = 0;
  };
  const take = async (limiter: RateLimiter, key: string, scope: AttemptScope) => {
    const state = limiter.hit(key);
    if (state.allowed) {
      taken.push([limiter, key]);
      return null;
    }
    release(); // a refused attempt is not checked, so it counts nowhere
    await recordEvent(
      db,
      ctx,
      {
        type: "login_throttled",
        outcome: "blocked",
        details: { scope, via: options.via, limit: state.limit, retry_after: state.retryAfter },
      },
      { coalesce: true },
    );
    return { allowed: false as const, scope, retryAfter: state.retryAfter };
  };

  const byIp = await take(limiters.login, throttleKey(ctx.ip), "ip");
  if (byIp) return byIp;

  let device: Device | null = null;
  if (options.account) {
    const presented = await readDevice(deviceCookie, options.cookieHeader);
    if (presented) {
      // Bound to the owner: a cookie issued to an earlier owner of this instance is none.
      const owner = await db.selectFrom("owners").select("id").executeTakeFirst();
      if (owner && owner.id === presented.ownerId) device = presented;
    }
    const refused = device
      ? await take(limiters.loginDevice, device.id, "device")
      : await take(limiters.loginUntrusted, "untrusted", "untrusted");
    if (refused) return refused;
  }
  return { allowed: true, device, release };
}

/**
 * A per-IP limit in front of something an anonymous client can make the server write
 * (pitfall 25): `null` when the request may go on, or the seconds to wait. A refusal is
 * recorded as one coalesced `login_throttled` event per client, so the flood it stops
 * does not write a row per request either.
 */
export async function limitPerIp(
  deps: { db: Db },
  ctx: RequestContext,
  limiter: RateLimiter,
  via: "passkey_options",
): Promise<number | null> {
  const state = limiter.hit(throttleKey(ctx.ip));
  if (state.allowed) return null;
  await recordEvent(
    deps.db,
    ctx,
    {
      type: "login_throttled",
      outcome: "blocked",
      details: { scope: "ip", via, limit: state.limit, retry_after: state.retryAfter },
    },
    { coalesce: true },
  );
  return state.retryAfter;
}

/** "N minute(s)" for a Retry-After in seconds. */
export function minutesText(retryAfter: number): string {
  const minutes = Math.max(1, Math.ceil(retryAfter / 60));
  return `${minutes} minute${minutes === 1 ? "" : "s"}`;
}
