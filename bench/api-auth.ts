/**
 * Micro-benchmarks, in-process (no server): the cost of one bearer check, of a rejected
 * one, and what the audit entry adds to a mutation. Timings are machine-dependent, so
 * they are printed, never asserted; each run still checks that the measured work really
 * happened (and exits 1 if not), so a broken path cannot pass as a fast one.
 *
 *   npm run bench:auth            (tsx bench/api-auth.ts)
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AppLoadContext } from "@remix-run/node";
import { requireToken } from "../app/lib/api/guard.server";
import { appendAudit, verifyAuditChain, type AuditContext } from "../app/lib/audit/log.server";
import { createOwner } from "../app/lib/auth/owner.server";
import type { ActorContext } from "../app/lib/domain/context";
import { migrate, nowIso, openDatabase, transaction, type Db } from "../app/lib/db.server";
import { loadConfig } from "../app/lib/env.server";
import { createLogger } from "../app/lib/logger.server";
import { createServices } from "../app/server/services.server";
import { createApiToken, generateToken, hashToken, tokenHint } from "../app/lib/tokens/tokens.server";
import { median, quantile } from "./lib/stats";

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`benchmark check failed: ${what}`);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preq-bench-auth-"));
const services = await createServices(
  loadConfig({
    DATABASE_PATH: path.join(dir, "bench.db"),
    SESSION_SECRET: "bench-session-secret-0123456789abcdef-0123",
    API_RATE_LIMIT: "1000000/15m",
  }),
  { logger: createLogger("error", () => undefined) },
);
const audit: AuditContext = {
  actor: { type: "cli", id: "cli", label: "bench" },
  ip: "local",
  userAgent: "bench",
  requestId: "bench",
  signer: services.auditSigner,
};
/** The bench's tokens are created as the audit context's actor. */
const cliCtx: ActorContext = { requestId: "bench", ip: "local", userAgent: "bench", path: "bench", actor: audit.actor };
const ownerId = (await createOwner(services.db, { email: "owner@example.com", passwordHash: "not-used" })).id;
const context = (clientIp = "192.0.2.1"): AppLoadContext => ({
  services,
  request: { id: "bench", clientIp, userAgent: "bench", cspNonce: "n" },
  api: { routes: [], openApiText: () => "{}" },
});
const us = (ms: number) => ms * 1000;

try {
  // One successful requireToken call, among 100 other tokens.
  for (let i = 0; i < 100; i++)
    await createApiToken(services, cliCtx, { ownerId, name: `other-${i}`, scope: "full", expiresInDays: 30 });
  const { plaintext } = await createApiToken(services, cliCtx, { ownerId, name: "bench", scope: "full", expiresInDays: 30 });
  const valid = new Request("http://localhost/api/me", { headers: { Authorization: `Bearer ${plaintext}` } });
  const accepted: number[] = [];
  let ok = 0;
  for (let i = 0; i < 3_200; i++) {
    const t0 = performance.now();
    const auth = await requireToken(valid, context(), { write: false });
    const t1 = performance.now();
    if (auth.token.name === "bench") ok += 1;
    if (i >= 200) accepted.push(us(t1 - t0)); // after warm-up
  }
  check(ok === 3_200, "every call authenticated the bench token");
  console.log(
    `requireToken (valid token): median ${median(accepted).toFixed(1)} µs, p90 ${quantile(accepted, 0.9).toFixed(1)} µs over ${accepted.length} calls`,
  );

  // A rejected (unknown) token, security event included. Fresh IPs, so the per-IP failure limiter never short-circuits it.
  const unknown = new Request("http://localhost/api/me", { headers: { Authorization: `Bearer ${generateToken()}` } });
  const rejected: number[] = [];
  for (let i = 0; i < 300; i++) {
    const t0 = performance.now();
    const thrown = await requireToken(unknown, context(`10.0.${i >> 8}.${i & 255}`), { write: false }).catch((r: unknown) => r);
    const t1 = performance.now();
    check(thrown instanceof Response && thrown.status === 401, "an unknown token is a 401");
    if (i >= 50) rejected.push(us(t1 - t0));
  }
  console.log(
    `requireToken (unknown token → 401 + event): median ${median(rejected).toFixed(1)} µs over ${rejected.length} calls`,
  );

  // What the audit entry adds to a mutation: a token insert with and without appendAudit, interleaved.
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
    return us(performance.now() - t0);
  };
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
    (
      await db
        .selectFrom("audit_log")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow()
    ).n;

  // CPU and SQLite work alone, in memory.
  const memory = openDatabase(":memory:");
  await migrate(memory.db);
  await measure(memory.db, 200); // warm-up
  const cpu = await measure(memory.db, 1_000);
  check((await count(memory.db)) === 1_200, "one audit entry per audited mutation (memory)");
  await memory.db.destroy();

  // On the real file with synchronous=FULL (one fsync per commit either way).
  const before = await count(services.db);
  const disk = await measure(services.db, 250);
  check((await count(services.db)) - before === 250, "one audit entry per audited mutation (disk)");
  check((await verifyAuditChain(services.db, services.auditSigner)).ok, "the audit chain verifies");
  console.log(
    `mutation median in memory: ${cpu.without.toFixed(0)} µs without audit, ${cpu.withAudit.toFixed(0)} µs with (+${(cpu.withAudit - cpu.without).toFixed(0)} µs)`,
  );
  console.log(
    `mutation median on disk (fsync): ${disk.without.toFixed(0)} µs without audit, ${disk.withAudit.toFixed(0)} µs with (+${(disk.withAudit - disk.without).toFixed(0)} µs)`,
  );
} finally {
  await services.db.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
}
