import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { appendAudit, chainHash, canonicalEntry, GENESIS_HASH, verifyAuditChain, type AuditContext } from "~/lib/audit.server";
import { migrate, openDatabase, transaction, type OpenedDatabase } from "~/lib/db.server";

const ctx: AuditContext = {
  actor: { type: "token", id: "7", label: "claude-code-prod" },
  ip: "203.0.113.4",
  userAgent: "agent/2",
  requestId: "req-abc",
};

let opened: OpenedDatabase;
beforeEach(async () => {
  opened = openDatabase(":memory:");
  await migrate(opened.db);
});
afterEach(() => opened.db.destroy());

async function appendThree() {
  for (const id of ["1", "2", "3"]) {
    await appendAudit(opened.db, ctx, {
      action: "task.update",
      resourceType: "task",
      resourceId: `PROJ-${id}`,
      changes: { title: { before: `old ${id}`, after: `new ${id}` } },
    });
  }
}

/** Tampering needs the append-only triggers out of the way, as an attacker with file access would do. */
async function dropTriggers() {
  await sql`drop trigger audit_log_no_update`.execute(opened.db);
  await sql`drop trigger audit_log_no_delete`.execute(opened.db);
}

describe("audit log", () => {
  it("appends entries with who, what, where and a hash chain from the genesis hash", async () => {
    await appendThree();
    const rows = await opened.db.selectFrom("audit_log").selectAll().orderBy("seq").execute();
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(rows[0]!.prev_hash).toBe(GENESIS_HASH);
    expect(rows[1]!.prev_hash).toBe(rows[0]!.hash);
    expect(rows[2]!.prev_hash).toBe(rows[1]!.hash);
    const { hash, prev_hash, ...rest } = rows[1]!;
    expect(hash).toBe(chainHash(prev_hash, canonicalEntry(rest)));
    expect(rows[0]).toMatchObject({
      actor_type: "token",
      actor_id: "7",
      actor_label: "claude-code-prod",
      action: "task.update",
      resource_type: "task",
      resource_id: "PROJ-1",
      ip: "203.0.113.4",
      user_agent: "agent/2",
      request_id: "req-abc",
    });
    expect(rows[0]!.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(JSON.parse(rows[0]!.changes)).toEqual({ title: { before: "old 1", after: "new 1" } });
  });

  it("verifies an intact chain (and an empty one)", async () => {
    expect(await verifyAuditChain(opened.db)).toEqual({ ok: true, count: 0, lastSeq: 0, headHash: GENESIS_HASH });
    await appendThree();
    const head = await opened.db.selectFrom("audit_log").select("hash").where("seq", "=", 3).executeTakeFirstOrThrow();
    expect(await verifyAuditChain(opened.db)).toEqual({ ok: true, count: 3, lastSeq: 3, headHash: head.hash });
    expect(await verifyAuditChain(opened.db, 2)).toEqual({ ok: true, count: 3, lastSeq: 3, headHash: head.hash }); // across pages
  });

  it("detects a row changed behind its back and names it", async () => {
    await appendThree();
    await dropTriggers();
    await opened.db.updateTable("audit_log").set({ actor_label: "someone else" }).where("seq", "=", 2).execute();
    expect(await verifyAuditChain(opened.db)).toMatchObject({ ok: false, badSeq: 2, count: 1 });
  });

  it("detects a changed row even when the tamperer recomputed its hash (the next link breaks)", async () => {
    await appendThree();
    await dropTriggers();
    const row = await opened.db.selectFrom("audit_log").selectAll().where("seq", "=", 2).executeTakeFirstOrThrow();
    const { hash: _h, prev_hash, ...rest } = { ...row, resource_id: "PROJ-999" };
    await opened.db
      .updateTable("audit_log")
      .set({ resource_id: "PROJ-999", hash: chainHash(prev_hash, canonicalEntry(rest)) })
      .where("seq", "=", 2)
      .execute();
    expect(await verifyAuditChain(opened.db)).toMatchObject({ ok: false, badSeq: 3 });
  });

  it("detects a deleted row", async () => {
    await appendThree();
    await dropTriggers();
    await opened.db.deleteFrom("audit_log").where("seq", "=", 2).execute();
    const result = await verifyAuditChain(opened.db);
    expect(result).toMatchObject({ ok: false, badSeq: 2 });
    expect(result.ok === false && result.reason).toMatch(/missing/);
  });

  it("the database refuses UPDATE and DELETE on audit rows", async () => {
    await appendThree();
    await expect(opened.db.updateTable("audit_log").set({ actor_label: "x" }).where("seq", "=", 1).execute()).rejects.toThrow(/append-only/);
    await expect(opened.db.deleteFrom("audit_log").where("seq", "=", 1).execute()).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_log`.execute(opened.db)).rejects.toThrow(/append-only/);
    expect(await verifyAuditChain(opened.db)).toMatchObject({ ok: true, count: 3 });
  });

  it("an entry written in a transaction that fails is rolled back with the change", async () => {
    await expect(
      transaction(opened.db, async (trx) => {
        await appendAudit(trx, ctx, { action: "task.delete", resourceType: "task", resourceId: "PROJ-1", changes: {} });
        throw new Error("the change failed");
      }),
    ).rejects.toThrow("the change failed");
    expect(await opened.db.selectFrom("audit_log").selectAll().execute()).toHaveLength(0);
  });
});
