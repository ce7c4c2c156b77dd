import type { RateLimitSpec } from "../env.server";

export interface RateLimitState {
  /** The limit per window. */
  limit: number;
  /** How many more hits the window allows (never negative). */
  remaining: number;
  /** Unix seconds when the window has fully slid past the current hits. */
  resetAt: number;
  /** Seconds until one more hit would be allowed; 0 when allowed now. */
  retryAfter: number;
}

interface Window {
  /** Start of the current fixed window (ms). */
  start: number;
  current: number;
  previous: number;
}

/**
 * A sliding-window counter (the weighted two-window approximation), keyed by
 * token id or client IP. Memory is bounded: at most `maxKeys` keys are tracked.
 * When a new key needs room, the least recently touched key that is *not* over
 * its limit (which includes every key whose window has passed) is evicted; a
 * throttled key is never forgotten before its window lets it through again, or
 * a client could free its own key by touching many others. When every tracked
 * key is throttled, a new key is refused (as if over its limit) until the first
 * of them frees up: failing closed keeps both the memory bound and the limits.
 */
export class RateLimiter {
  private readonly windows = new Map<string, Window>();
  /** While the clock is before this, the table is full of throttled keys and new keys are refused without a scan. */
  private saturatedUntil = 0;

  constructor(
    readonly spec: Pick<RateLimitSpec, "max" | "windowMs">,
    private readonly maxKeys = 10_000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Records one hit for `key` and tells whether it is within the limit. */
  hit(key: string): RateLimitState & { allowed: boolean } {
    const now = this.clock();
    let w = this.touch(key, now);
    if (!w) {
      if (!this.makeRoom(now)) return { ...this.refusal(now), allowed: false };
      w = { start: this.windowStart(now), current: 0, previous: 0 };
      this.windows.set(key, w);
    }
    const state = this.describe(w, now);
    if (state.remaining <= 0) return { ...state, allowed: false };
    w.current += 1;
    return { ...this.describe(w, now), allowed: true };
  }

  /** The state for `key` without recording a hit (and without taking a slot for an unknown key). */
  peek(key: string): RateLimitState {
    const now = this.clock();
    const w = this.touch(key, now);
    if (w) return this.describe(w, now);
    if (this.windows.size >= this.maxKeys && now < this.saturatedUntil) return this.refusal(now);
    return this.describe({ start: this.windowStart(now), current: 0, previous: 0 }, now);
  }

  /**
   * Takes back one hit recorded by `hit` (a sign-in that turned out to succeed):
   * callers reserve a slot before slow work, so parallel attempts cannot all slip
   * past a check made before any of them was counted, then release it if it must not count.
   */
  release(key: string): void {
    const w = this.touch(key, this.clock());
    if (!w) return;
    if (w.current > 0) w.current -= 1;
    else if (w.previous > 0) w.previous -= 1;
    this.saturatedUntil = 0; // this key may be within its limit again: worth a new scan
  }

  /** Forgets `key` (for example after a successful sign-in, when wanted). */
  reset(key: string): void {
    this.windows.delete(key);
  }

  get size(): number {
    return this.windows.size;
  }

  private windowStart(now: number): number {
    return Math.floor(now / this.spec.windowMs) * this.spec.windowMs;
  }

  /** `w` as seen from `now`: rolled into the current window, the older counts weighted or dropped. */
  private rolled(w: Window, now: number): Window {
    const start = this.windowStart(now);
    if (w.start === start) return w;
    return { start, current: 0, previous: start - w.start === this.spec.windowMs ? w.current : 0 };
  }

  /** The tracked window for `key`, rolled forward and marked most recently used; undefined if untracked. */
  private touch(key: string, now: number): Window | undefined {
    const w = this.windows.get(key);
    if (!w) return undefined;
    const current = this.rolled(w, now);
    this.windows.delete(key); // re-insert: most recently used goes last
    this.windows.set(key, current);
    return current;
  }

  /**
   * Makes room for one new key: true when there is room (evicting the least recently
   * used key that is within its limit if needed), false when every key is throttled.
   */
  private makeRoom(now: number): boolean {
    if (this.windows.size < this.maxKeys) return true;
    if (now < this.saturatedUntil) return false;
    let soonestFree = Infinity;
    for (const [key, stored] of this.windows) {
      const state = this.describe(this.rolled(stored, now), now);
      if (state.remaining > 0) {
        this.windows.delete(key);
        return true;
      }
      soonestFree = Math.min(soonestFree, now + state.retryAfter * 1000);
    }
    this.saturatedUntil = soonestFree;
    return false;
  }

  /** What a new key is told while the table is full of throttled keys. */
  private refusal(now: number): RateLimitState {
    const waitMs = Math.max(1_000, this.saturatedUntil - now);
    return {
      limit: this.spec.max,
      remaining: 0,
      resetAt: Math.ceil((now + waitMs) / 1000),
      retryAfter: Math.ceil(waitMs / 1000),
    };
  }

  private describe(w: Window, now: number): RateLimitState {
    const { max, windowMs } = this.spec;
    const elapsed = (now - w.start) / windowMs;
    const weighted = w.previous * (1 - elapsed) + w.current;
    const remaining = Math.max(0, Math.floor(max - weighted));
    let retryAfterMs = 0;
    if (remaining <= 0) {
      // Hits in the current window alone fill it: wait for the next window,
      // where the current count becomes the weighted "previous" one.
      if (w.current >= max) {
        const nextStart = w.start + windowMs;
        const fraction = Math.min(1, (w.current - max + 1) / Math.max(1, w.current));
        retryAfterMs = nextStart - now + fraction * windowMs;
      } else {
        // The previous window's weight must decay until one hit fits.
        const needed = 1 - (max - 1 - w.current) / Math.max(1, w.previous);
        retryAfterMs = Math.max(0, needed * windowMs - (now - w.start));
      }
    }
    return {
      limit: max,
      remaining,
      resetAt: Math.ceil((w.start + 2 * windowMs) / 1000),
      retryAfter: Math.max(remaining > 0 ? 0 : 1, Math.ceil(retryAfterMs / 1000)),
    };
  }
}

/**
 * The key per-client throttles (sign-in attempts) count under: an IPv4 address as
 * it is, an IPv6 address by its /64 network. One subscriber usually holds a whole
 * /64, so counting single IPv6 addresses would let one client rotate through
 * billions of them.
 */
export function throttleKey(ip: string): string {
  if (!ip.includes(":")) return ip;
  const address = ip.split("%")[0]!.toLowerCase();
  const halves = address.split("::");
  if (halves.length > 2) return ip;
  const groups = (s: string | undefined) => (s ? s.split(":") : []);
  const width = (gs: string[]) => gs.reduce((n, g) => n + (g.includes(".") ? 2 : 1), 0);
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const all =
    halves.length === 2 ? [...head, ...Array<string>(Math.max(0, 8 - width(head) - width(tail))).fill("0"), ...tail] : head;
  const network = all.slice(0, 4);
  if (network.length < 4 || !network.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return ip;
  return `${network.map((g) => parseInt(g, 16).toString(16)).join(":")}::/64`;
}
