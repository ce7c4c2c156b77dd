/**
 * Micro-benchmarks for the closing note: the cost of one bearer check, and what the
 * audit entry adds to a mutation. They print their numbers and assert only that the
 * measured work really happened (timings are machine-dependent and never asserted).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AppLoadContext } from "@remix-run/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireToken } from "../../app/lib/api/guard.server";
import { appendAudit, verifyAuditChain, type AuditContext } from "../../app/lib/audit/log.server";
import { migrate, nowIso, openDatabase, transaction, type Db } from "~/lib/db.server";
import { loadConfig } from "~/lib/env.server";
import { createLogger } from "~/lib/logger.server";
import { createOwner } from "../../app/lib/auth/owner.server";
import { createServices, type Services } from "~/lib/services.server";
import { createApiToken, generateToken, hashToken, tokenHint } from "../../app/lib/tokens/tokens.server";
import { TEST_AUDIT_KEY, testAuditSigner } from "../support/audit-key";

let dir: string;
let services: Services;
let ownerId: string;
const audit: AuditContext = { actor: { type: "cli", id: "cli", label: "bench" }, ip: "local", userAgent: "bench", requestId: "bench", signer: testAuditSigner };

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "preq-bench-"));
  services = await createServices(
    loadConfig({ DATABASE_PATH: path.join(dir, "bench.db"), SESSION_SECRET: "unit-test-session-secret-0123456789abcdef", API_RATE_LIMIT: "1000000/15m", AUDIT_SIGNING_KEY: TEST_AUDIT_KEY }),
    { logger: createLogger("error", () => undefined) },
  );
  ownerId = (await createOwner(services.db, { email: "owner@example.com", passwordHash: "not-used" })).id;
});
afterAll(async () => {
  await services.db.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
});

function median(samples: number[]): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function context(): AppLoadContext {
  return { services, request: { id: "bench", clientIp: "192.0.2.1", userAgent: "bench", cspNonce: "n" } };
}

describe("benchmarks (printed, not asserted)", () => {
  it("one successful requireToken call costs a median of N µs (among 100 other tokens)", async () => {
    for (let i = 0; i < 100; i++) {
      await createApiToken(services.db, { ownerId, name: `other-${i}`, scope: "full", expiresInDays: 30, audit });
    }
    const { plaintext } = await createApiToken(services.db, { ownerId, name: "bench", scope: "full", expiresInDays: 30, audit });
    const request = new Request("http://localhost/api/me", { headers: { Authorization: `Bearer ${plaintext}` } });
    const samples: number[] = [];
    let ok = 0;
    for (let i = 0; i < 3_200; i++) {
      const t0 = performance.now();
      const auth = await requireToken(request, context(), { write: false });
      const t1 = performance.now();
      if (auth.token.name === "bench") ok += 1;
      if (i >= 200) samples.push((t1 - t0) * 1000);
    }
    expect(ok).toBe(3_200);
    const p90 = [...samples].sort((a, b) => a - b)[Math.floor(samples.length * 0.9)]!;
    console.log(`[bench] requireToken (valid token): median ${median(samples).toFixed(1)} µs, p90 ${p90.toFixed(1)} µs over ${samples.length} calls`);
  });

  it("a rejected (unknown) token costs a median of N µs, security event included", async () => {
    const request = new Request("http://localhost/api/me", { headers: { Authorization: `Bearer ${generateToken()}` } });
    const samples: number[] = [];
    // Fresh IPs, so the per-IP failure limiter never short-circuits the measured path.
    for (let i = 0; i < 300; i++) {
      const ctx = context();
      ctx.request.clientIp = `10.0.${i >> 8}.${i & 255}`;
      const t0 = performance.now();
      const thrown = await requireToken(request, ctx, { write: false }).catch((r: unknown) => r);
      samples.push((performance.now() - t0) * 1000);
      expect((thrown as Response).status).toBe(401);
    }
    console.log(`[bench] requireToken (unknown token → 401 + event): median ${median(samples.slice(50)).toFixed(1)} µs`);
  });

  it("the audit entry adds N µs to a mutation (token insert with vs. without appendAudit)", async () => {
    const row = () => {
      const t = generateToken();
      return {
        owner_id: ownerId,
        name: "m",
        token_hash: hashToken(t),
        hint: tokenHint(t),
        scope: "full" as const,
        created_at: nowIso(),
        expires_at: null,
        revoked_at: null,
        last_used_at: null,
        last_used_ip: null,
      };
    };
    const mutate = async (db: Db, withAudit: boolean) => {
      const values = row();
      const t0 = performance.now();
      await transaction(db, async (trx) => {
        const inserted = await trx.insertInto("api_tokens").values(values).returning("id").executeTakeFirstOrThrow();
        if (withAudit) {
          await appendAudit(trx, audit, {
            action: "api_token.create",
            resourceType: "api_token",
            resourceId: String(inserted.id),
            changes: { name: { before: null, after: "m" } },
          });
        }
      });
      return (performance.now() - t0) * 1000;
    };
    // Interleaved (with, without, with, …) so load from other processes hits both alike.
    const measure = async (db: Db, n: number) => {
      const without: number[] = [];
      const withAudit: number[] = [];
      for (let i = 0; i < n; i++) {
        without.push(await mutate(db, false));
        withAudit.push(await mutate(db, true));
      }
      return { without: median(without), withAudit: median(withAudit) };
    };
    const count = async (db: Db) =>
      (await db.selectFrom("audit_log").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow()).n;

    // CPU and SQLite work alone, in memory.
    const memory = openDatabase(":memory:");
    await migrate(memory.db);
    await measure(memory.db, 200); // warm-up
    const cpu = await measure(memory.db, 1_000);
    expect(await count(memory.db)).toBe(1_200);
    await memory.db.destroy();

    // On the real file with synchronous=FULL (one fsync per commit either way).
    const before = await count(services.db);
    const disk = await measure(services.db, 250);
    expect((await count(services.db)) - before).toBe(250);
    expect(await verifyAuditChain(services.db, services.auditSigner)).toMatchObject({ ok: true });
    console.log(
      `[bench] mutation median in memory: ${cpu.without.toFixed(0)} µs without audit, ${cpu.withAudit.toFixed(0)} µs with (+${(cpu.withAudit - cpu.without).toFixed(0)} µs)`,
    );
    console.log(
      `[bench] mutation median on disk (fsync): ${disk.without.toFixed(0)} µs without audit, ${disk.withAudit.toFixed(0)} µs with (+${(disk.withAudit - disk.without).toFixed(0)} µs)`,
    );
  });
});
