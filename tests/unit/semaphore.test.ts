import { describe, expect, it } from "vitest";
import { createPasswordHasher } from "../../app/lib/auth/password.server";

const { hash: hashPassword, verify: verifyPassword, slots: hashSlots } = createPasswordHasher();
import { Semaphore } from "../../app/lib/auth/semaphore";

const tick = () => new Promise((r) => setTimeout(r, 5));

describe("Semaphore", () => {
  it("never runs more than its limit at once, and runs every task in arrival order", async () => {
    const sem = new Semaphore(2);
    let now = 0;
    let peak = 0;
    const started: number[] = [];
    const results = await Promise.all(
      Array.from({ length: 7 }, (_, i) =>
        sem.run(async () => {
          started.push(i);
          now += 1;
          peak = Math.max(peak, now);
          await tick();
          now -= 1;
          return i * 10;
        }),
      ),
    );
    expect(peak).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(results).toEqual([0, 10, 20, 30, 40, 50, 60]);
    expect(sem.running).toBe(0);
    expect(sem.waiting).toBe(0);
  });

  it("frees the slot when a task fails", async () => {
    const sem = new Semaphore(1);
    await expect(sem.run(async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    await expect(sem.run(async () => "next")).resolves.toBe("next");
    expect(sem.running).toBe(0);
  });

  it("refuses a limit below one", () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
  });
});

describe("password hashing under the CPU guard", () => {
  it("runs at most cores − 1 scrypt computations at once, however many sign-ins arrive", async () => {
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, hashSlots.running)), 1);
    const hash = await hashPassword("a long enough password");
    const checks = await Promise.all(Array.from({ length: 6 }, () => verifyPassword("a long enough password", hash)));
    clearInterval(sampler);
    expect(checks.every(Boolean)).toBe(true);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(hashSlots.limit);
    expect(hashSlots.limit).toBeLessThan(Math.max(2, (await import("node:os")).availableParallelism()));
  });
});
