import type { RateLimitSpec } from "./env.server";

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

/**
 * A sliding-window counter (the weighted two-window approximation), keyed by
 * token id or client IP. Memory is bounded: at most `maxKeys` keys are tracked,
 * the least recently touched evicted first (a Map keeps insertion order).
 */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; current: number; previous: number }>();

  constructor(
    readonly spec: Pick<RateLimitSpec, "max" | "windowMs">,
    private readonly maxKeys = 10_000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Records one hit for `key` and tells whether it is within the limit. */
  hit(key: string): RateLimitState & { allowed: boolean } {
    const state = this.peek(key);
    if (state.remaining <= 0) return { ...state, allowed: false };
    const w = this.windows.get(key)!;
    w.current += 1;
    return { ...this.describe(w), allowed: true };
  }

  /** The state for `key` without recording a hit. */
  peek(key: string): RateLimitState {
    return this.describe(this.window(key));
  }

  /**
   * Takes back one hit recorded by `hit` (a sign-in that turned out to succeed):
   * callers reserve a slot before slow work, so parallel attempts cannot all slip
   * past a check made before any of them was counted, then release it if it must not count.
   */
  release(key: string): void {
    if (!this.windows.has(key)) return;
    const w = this.window(key);
    if (w.current > 0) w.current -= 1;
    else if (w.previous > 0) w.previous -= 1;
  }

  /** Forgets `key` (for example after a successful sign-in, when wanted). */
  reset(key: string): void {
    this.windows.delete(key);
  }

  get size(): number {
    return this.windows.size;
  }

  private window(key: string) {
    const now = this.clock();
    const { windowMs } = this.spec;
    const start = Math.floor(now / windowMs) * windowMs;
    let w = this.windows.get(key);
    if (w) {
      this.windows.delete(key); // re-insert below: most recently used goes last
      if (w.start !== start) {
        w = { start, current: 0, previous: start - w.start === windowMs ? w.current : 0 };
      }
    } else {
      w = { start, current: 0, previous: 0 };
      if (this.windows.size >= this.maxKeys) {
        const oldest = this.windows.keys().next().value;
        if (oldest !== undefined) this.windows.delete(oldest);
      }
    }
    this.windows.set(key, w);
    return w;
  }

  private describe(w: { start: number; current: number; previous: number }): RateLimitState {
    const now = this.clock();
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
