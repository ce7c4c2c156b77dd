import { describe, expect, it } from "vitest";
import { verifyAuditChain } from "../../app/lib/audit/log.server";
import { seedAuditLog } from "../../bench/lib/audit-seed";
import { testAuditSigner, testDatabase, auditInTransaction } from "../support/kit";

describe("seedAuditLog", () => {
  it("writes N entries whose hash chain verifies, continuing an existing chain", async () => {
    const { db, sqlite } = await testDatabase();
    const real = await auditInTransaction(
      db,
      {
        actor: { type: "owner", id: "o", label: "o@x" },
        ip: "1.2.3.4",
        userAgent: "ua",
        requestId: "r",
        signer: testAuditSigner,
      },
      {
        action: "api_token.create",
        resourceType: "api_token",
        resourceId: "1",
        changes: {},
      },
    );
    const result = seedAuditLog(sqlite, { count: 2_500, batchSize: 1_000, signer: testAuditSigner });
    expect(result).toMatchObject({ firstSeq: 2, lastSeq: 2_501, count: 2_500 });
    expect(await verifyAuditChain(db, testAuditSigner)).toMatchObject({ ok: true, count: 2_501, lastSeq: 2_501 });

    // The chain links to the entry that was there before, and new writes continue it.
    const second = await db.selectFrom("audit_log").select("prev_hash").where("seq", "=", 2).executeTakeFirstOrThrow();
    expect(second.prev_hash).toBe(real.hash);
    await auditInTransaction(
      db,
      {
        actor: { type: "cli", id: "cli", label: "cli" },
        ip: "local",
        userAgent: "cli",
        requestId: "r2",
        signer: testAuditSigner,
      },
      { action: "task.update", resourceType: "task", resourceId: "1", changes: {} },
    );
    expect(await verifyAuditChain(db, testAuditSigner)).toMatchObject({ ok: true, lastSeq: 2_502 });
  });

  it("keeps entries in time order after the existing head and spreads actors and actions", async () => {
    const { db, sqlite } = await testDatabase();
    seedAuditLog(sqlite, { count: 600, now: Date.parse("2026-11-27T00:00:00.000Z"), signer: testAuditSigner });
    const rows = await db.selectFrom("audit_log").select(["created_at", "actor_type", "action"]).orderBy("seq").execute();
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.created_at >= rows[i - 1]!.created_at).toBe(true);
    expect(rows.at(-1)!.created_at).toBe("2026-11-27T00:00:00.000Z");
    expect(new Set(rows.map((r) => r.actor_type))).toEqual(new Set(["owner", "cli", "token"]));
    expect(new Set(rows.map((r) => r.action)).size).toBeGreaterThan(3);
  });

  it("writes nothing for a count of zero", async () => {
    const { db, sqlite } = await testDatabase();
    expect(seedAuditLog(sqlite, { count: 0, signer: testAuditSigner })).toMatchObject({ count: 0, lastSeq: 0 });
    expect(await verifyAuditChain(db, testAuditSigner)).toMatchObject({ ok: true, count: 0, lastSeq: 0 });
  });
});
