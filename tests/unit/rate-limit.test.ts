import { describe, expect, it } from "vitest";
import { rateLimitHeaders } from "../../app/lib/api/guard.server";
import { RateLimiter } from "../../app/lib/security/rate-limit.server";

const MIN = 60_000;

function limiter(max: number, windowMs = MIN, maxKeys = 10_000) {
  let now = 0;
  const rl = new RateLimiter({ max, windowMs }, maxKeys, () => now);
  return { rl, at: (ms: number) => (now = ms) };
}

describe("RateLimiter (sliding window, injected clock)", () => {
  it("allows exactly max hits in a window, counting remaining down to 0", () => {
    const { rl, at } = limiter(5);
    at(1_000);
    const remaining = Array.from({ length: 5 }, () => rl.hit("k")).map((s) => [s.allowed, s.remaining]);
    expect(remaining).toEqual([
      [true, 4],
      [true, 3],
      [true, 2],
      [true, 1],
      [true, 0],
    ]);
    const over = rl.hit("k");
    expect(over).toMatchObject({ allowed: false, remaining: 0, limit: 5 });
    // A refused hit is not counted.
    expect(rl.peek("k").remaining).toBe(0);
  });

  it("reset is the unix second when the current hits have slid out (end of the next window)", () => {
    const { rl, at } = limiter(5);
    at(90_500); // window [60 000, 120 000)
    expect(rl.hit("k").resetAt).toBe(180);
  });

  it("Retry-After is exactly when the weighted previous window leaves room for one hit", () => {
    const { rl, at } = limiter(10);
    at(0);
    for (let i = 0; i < 10; i++) rl.hit("k");
    const refused = rl.hit("k");
    expect(refused.allowed).toBe(false);
    // Next window starts at 60 s; 10 old hits weigh 10 × (1 − elapsed) and must drop to 9: elapsed 0.1 → 66 s.
    expect(refused.retryAfter).toBe(66);
    at(65_000);
    expect(rl.hit("k").allowed).toBe(false);
    at(66_000);
    const allowed = rl.hit("k");
    expect(allowed.allowed).toBe(true);
    expect(allowed.remaining).toBe(0);
  });

  it("hits in the previous window weigh less as the current window advances", () => {
    const { rl, at } = limiter(10);
    at(0);
    for (let i = 0; i < 6; i++) rl.hit("k");
    at(MIN + MIN / 2); // half-way: 6 × 0.5 = 3 still count
    expect(rl.peek("k").remaining).toBe(7);
    at(MIN + (MIN * 3) / 4); // 6 × 0.25 = 1.5 → floor(10 − 1.5) = 8
    expect(rl.peek("k").remaining).toBe(8);
  });

  it("a window two or more periods old is forgotten entirely", () => {
    const { rl, at } = limiter(3);
    at(0);
    for (let i = 0; i < 3; i++) rl.hit("k");
    at(2 * MIN + 1);
    expect(rl.peek("k").remaining).toBe(3);
  });

  it("keys are independent", () => {
    const { rl, at } = limiter(1);
    at(0);
    expect(rl.hit("a").allowed).toBe(true);
    expect(rl.hit("a").allowed).toBe(false);
    expect(rl.hit("b").allowed).toBe(true);
  });

  it("memory is bounded: beyond maxKeys the least recently used key within its limit is evicted", () => {
    const { rl, at } = limiter(2, MIN, 3);
    at(0);
    rl.hit("a");
    rl.hit("b");
    rl.hit("c");
    rl.hit("a"); // touch a (now at its limit): b is the oldest
    rl.hit("d");
    expect(rl.size).toBe(3);
    expect(rl.peek("a").remaining).toBe(0); // kept
    expect(rl.peek("b").remaining).toBe(2); // evicted, so fresh
  });

  it("never evicts a throttled key before its window lets it through: it evicts a key within its limit instead", () => {
    const { rl, at } = limiter(2, MIN, 3);
    at(0);
    rl.hit("attacker");
    rl.hit("attacker"); // throttled, and the least recently used key from here on
    expect(rl.hit("attacker").allowed).toBe(false);
    rl.hit("x");
    rl.hit("y");
    rl.hit("z"); // the table is full: x (within its limit) goes, the attacker stays
    expect(rl.hit("attacker")).toMatchObject({ allowed: false, remaining: 0 });
    expect(rl.peek("x").remaining).toBe(2);
  });

  it("when every tracked key is throttled, a new key is refused until the first of them frees up", () => {
    const { rl, at } = limiter(1, MIN, 3);
    at(0);
    for (const k of ["a", "b", "c"]) expect(rl.hit(k).allowed).toBe(true);
    const refused = rl.hit("d");
    expect(refused).toMatchObject({ allowed: false, remaining: 0, limit: 1 });
    expect(refused.retryAfter).toBeGreaterThan(0);
    expect(rl.peek("e").remaining).toBe(0);
    // None of the throttled keys was forgotten to make room.
    for (const k of ["a", "b", "c"]) expect(rl.hit(k).allowed).toBe(false);
    expect(rl.size).toBe(3);
    // Once a's window has slid past its hit, a is within its limit again and gives way to a new key.
    at(refused.retryAfter * 1000);
    expect(rl.hit("d").allowed).toBe(true);
    expect(rl.size).toBe(3);
  });

  it("a key whose hit was released makes room for a new key even while the table was saturated", () => {
    const { rl, at } = limiter(1, MIN, 2);
    at(0);
    rl.hit("a");
    rl.hit("b");
    expect(rl.hit("c").allowed).toBe(false);
    rl.release("a");
    expect(rl.hit("c").allowed).toBe(true);
    expect(rl.hit("b").allowed).toBe(false);
  });

  it("rateLimitHeaders renders limit, remaining and reset as decimal strings", () => {
    const { rl, at } = limiter(100, 15 * MIN);
    at(Date.parse("2026-11-27T23:05:00.000Z"));
    const state = rl.hit("token:1");
    expect(rateLimitHeaders(state)).toEqual({
      "X-RateLimit-Limit": "100",
      "X-RateLimit-Remaining": "99",
      // window [23:00, 23:15) → the hit has slid out by 23:30
      "X-RateLimit-Reset": String(Date.parse("2026-11-27T23:30:00.000Z") / 1000),
    });
  });
});
