/** Sign-in costs the same for an unknown email as for a wrong password (no email oracle by timing). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postForm, setupOwner } from "../support/http";
import { startServer, type TestServer } from "../support/server";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe("sign-in timing", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { LOGIN_RATE_LIMIT: "1000/1m", LOGIN_UNTRUSTED_RATE_LIMIT: "1000/1m" } });
    await setupOwner(server);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("spends one password verification on an unknown email just as on a wrong password", async () => {
    const time = async (email: string) => {
      const started = performance.now();
      const res = await postForm(server, "/login", { email, password: "a wrong password guess" });
      const ms = performance.now() - started;
      expect(res.status).toBe(401);
      return ms;
    };
    // Control: a request that stops at validation, before any password check.
    const validationOnly = async () => {
      const started = performance.now();
      const res = await postForm(server, "/login", { email: "owner@example.com", password: "" });
      expect(res.status).toBe(400);
      return performance.now() - started;
    };
    const known: number[] = [];
    const unknown: number[] = [];
    const cheap: number[] = [];
    for (let i = 0; i < 7; i++) {
      known.push(await time("owner@example.com"));
      unknown.push(await time(`nobody-${i}@example.com`));
      cheap.push(await validationOnly());
    }
    const [k, u, c] = [median(known), median(unknown), median(cheap)];
    console.info(
      `sign-in medians: wrong password ${k.toFixed(1)} ms, unknown email ${u.toFixed(1)} ms, no password check ${c.toFixed(1)} ms`,
    );
    // Both failure paths pay for a scrypt the validation-only request does not.
    expect(k - c).toBeGreaterThan(10);
    expect(u - c).toBeGreaterThan((k - c) * 0.5);
    expect(u).toBeLessThan(k * 2.5);
  });
});
