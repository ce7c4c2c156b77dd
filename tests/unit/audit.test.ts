import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import { Migrator } from "kysely/migration";
import { beforeEach, describe, expect, it } from "vitest";
import { migrations } from "../../db/migrations";
import { auditSignerFromSeed } from "../../app/lib/audit/signing.server";
import {
  appendAudit,
  chainHash,
  canonicalEntry,
  checkRecordedHead,
  GENESIS_HASH,
  sealLegacyAuditLog,
  verifyAuditChain,
  type AuditContext,
} from "../../app/lib/audit/log.server";
import { migrate, transaction, type Db, type OpenedDatabase } from "~/lib/db.server";
import { rechainAuditLog } from "../support/audit-key";
import { testAuditSigner, testDatabase, type TestDatabase, auditInTransaction } from "../support/kit";

const ctx: AuditContext = {
  actor: { type: "token", id: "7", label: "claude-code-prod" },
  ip: "203.0.113.4",
  userAgent: "agent/2",
  requestId: "req-abc",
  signer: testAuditSigner,
};

let opened: TestDatabase;
beforeEach(async () => {
  opened = await testDatabase();
});

async function appendN(n: number, db: Db = opened.db) {
  for (let id = 1; id <= n; id++) {
    await auditInTransaction(db, ctx, {
      action: "task.update",
      resourceType: "task",
      resourceId: `PROJ-${id}`,
      changes: { title: { before: `old ${id}`, after: `new ${id}` } },
    });
  }
}
const appendThree = () => appendN(3);

/** Tampering needs the append-only triggers out of the way, as an attacker with file access would do. */
async function dropTriggers(db: Db = opened.db) {
  await sql`drop trigger if exists audit_log_no_update`.execute(db);
  await sql`drop trigger if exists audit_log_no_delete`.execute(db);
  await sql`drop trigger if exists audit_seal_once`.execute(db);
}

const rechain = rechainAuditLog;

describe("audit log", () => {
  it("appends entries with who, what, where, a hash chain from the genesis hash, and a signature on each", async () => {
    await appendThree();
    const rows = await opened.db.selectFrom("audit_log").selectAll().orderBy("seq").execute();
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(rows[0]!.prev_hash).toBe(GENESIS_HASH);
    expect(rows[1]!.prev_hash).toBe(rows[0]!.hash);
    expect(rows[2]!.prev_hash).toBe(rows[1]!.hash);
    const { hash, prev_hash, ...rest } = rows[1]!;
    expect(hash).toBe(chainHash(prev_hash, canonicalEntry(rest)));
    for (const r of rows) expect(testAuditSigner.verify(r.seq, r.hash, r.signature!)).toBe(true);
    expect(testAuditSigner.verify(2, rows[0]!.hash, rows[1]!.signature!)).toBe(false); // bound to its own entry
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

  it("hashes a known entry to a value computed independently (sha256sum)", () => {
    const entry = {
      seq: 1,
      created_at: "2026-11-27T23:00:00.000Z",
      actor_type: "token" as const,
      actor_id: "7",
      actor_label: "claude-code-prod",
      action: "task.update",
      resource_type: "task",
      resource_id: "PROJ-1",
      changes: JSON.stringify({ title: { before: "old", after: "new" } }),
      ip: "203.0.113.4",
      user_agent: "agent/2",
      request_id: "req-abc",
    };
    const canonical =
      '[1,"2026-11-27T23:00:00.000Z","token","7","claude-code-prod","task.update","task","PROJ-1",' +
      '"{\\"title\\":{\\"before\\":\\"old\\",\\"after\\":\\"new\\"}}","203.0.113.4","agent/2","req-abc"]';
    expect(canonicalEntry(entry)).toBe(canonical);
    // printf '%s\n%s' "$(printf '0%.0s' $(seq 64))" '<canonical>' | sha256sum
    expect(chainHash(GENESIS_HASH, canonical)).toBe("258373bb6391e8bd91bbd169768a7cbfecc0f12153ddef54edab1b1cb4b5c078");
  });

  it("verifies an intact chain (and an empty one), across pages", async () => {
    expect(await verifyAuditChain(opened.db, testAuditSigner)).toMatchObject({
      ok: true,
      count: 0,
      lastSeq: 0,
      headHash: GENESIS_HASH,
    });
    await appendThree();
    const head = await opened.db.selectFrom("audit_log").select("hash").where("seq", "=", 3).executeTakeFirstOrThrow();
    const expected = {
      ok: true,
      count: 3,
      lastSeq: 3,
      headHash: head.hash,
      publicKey: testAuditSigner.publicKey,
      legacyThroughSeq: 0,
    };
    expect(await verifyAuditChain(opened.db, testAuditSigner)).toMatchObject(expected);
    expect(await verifyAuditChain(opened.db, testAuditSigner, 2)).toMatchObject(expected);
  });

  it("detects a row changed behind its back and names it", async () => {
    await appendThree();
    await dropTriggers();
    await opened.db.updateTable("audit_log").set({ actor_label: "someone else" }).where("seq", "=", 2).execute();
    expect(await verifyAuditChain(opened.db, testAuditSigner)).toMatchObject({ ok: false, badSeq: 2, count: 1 });
  });

  it("detects a changed row even when the tamperer recomputed its hash (the next link breaks)", async () => {
    await appendThree();
    await dropTriggers();
    const row = await opened.db.selectFrom("audit_log").selectAll().where("seq", "=", 2).executeTakeFirstOrThrow();
    const { hash: _h, prev_hash, signature: _s, ...rest } = { ...row, resource_id: "PROJ-999" };
    await opened.db
      .updateTable("audit_log")
      .set({ resource_id: "PROJ-999", hash: chainHash(prev_hash, canonicalEntry(rest)) })
      .where("seq", "=", 2)
      .execute();
    expect(await verifyAuditChain(opened.db, testAuditSigner)).toMatchObject({ ok: false, badSeq: 3 });
  });

  it("detects a deleted row", async () => {
    await appendThree();
    await dropTriggers();
    await opened.db.deleteFrom("audit_log").where("seq", "=", 2).execute();
    const result = await verifyAuditChain(opened.db, testAuditSigner);
    expect(result).toMatchObject({ ok: false, badSeq: 2 });
    expect(result.ok === false && result.reason).toMatch(/missing/);
  });

  it("catches an edited entry whose every later hash was recomputed, and names it", async () => {
    await appendN(40);
    await dropTriggers();
    await opened.db.updateTable("audit_log").set({ actor_label: "someone else" }).where("seq", "=", 23).execute();
    await rechain(opened.db);
    const result = await verifyAuditChain(opened.db, testAuditSigner);
    expect(result).toMatchObject({ ok: false, problem: "tampered", badSeq: 23, count: 22 });
    expect(result.ok === false && result.reason).toMatch(/entry 23 was changed .* its signature no longer matches/);
  });

  it("catches a deleted entry when the rest was renumbered and re-chained", async () => {
    await appendN(10);
    await dropTriggers();
    await opened.db.deleteFrom("audit_log").where("seq", "=", 4).execute();
    await rechain(opened.db);
    const result = await verifyAuditChain(opened.db, testAuditSigner);
    expect(result).toMatchObject({ ok: false, badSeq: 4, count: 3 });
  });

  it("catches a forged log whose signatures were removed", async () => {
    await appendN(5);
    await dropTriggers();
    await opened.db.updateTable("audit_log").set({ resource_id: "PROJ-X" }).where("seq", "=", 2).execute();
    await rechain(opened.db);
    await opened.db.updateTable("audit_log").set({ signature: null }).execute();
    const result = await verifyAuditChain(opened.db, testAuditSigner);
    expect(result).toMatchObject({ ok: false, badSeq: 5 });
    expect(result.ok === false && result.reason).toMatch(/has no signature/);
  });

  it("a log re-signed with another key fails against the real public key", async () => {
    await appendN(5);
    await dropTriggers();
    const forger = auditSignerFromSeed(randomBytes(32));
    await opened.db.updateTable("audit_log").set({ resource_id: "PROJ-X" }).where("seq", "=", 2).execute();
    await rechain(opened.db, forger);
    expect(await verifyAuditChain(opened.db, forger)).toMatchObject({ ok: true }); // consistent with the forger's own key…
    const result = await verifyAuditChain(opened.db, testAuditSigner); // …not with the real one
    expect(result).toMatchObject({ ok: false });
    expect(result.ok === false && result.reason).toContain(`no signature verifies with public key ${testAuditSigner.publicKey}`);
  });

  it("tells entries cut off the end from a changed entry when checking a recorded head", async () => {
    await appendN(6);
    const head = await opened.db.selectFrom("audit_log").select(["seq", "hash"]).where("seq", "=", 6).executeTakeFirstOrThrow();
    const recorded = { seq: head.seq, hash: head.hash };
    expect(await checkRecordedHead(opened.db, recorded, { lastSeq: 6 })).toEqual({ ok: true, seq: 6 });

    await dropTriggers();
    await opened.db.deleteFrom("audit_log").where("seq", ">", 4).execute();
    // What is left is a valid, signed chain: only the recorded head shows the loss.
    const cut = await verifyAuditChain(opened.db, testAuditSigner);
    expect(cut).toMatchObject({ ok: true, lastSeq: 4 });
    const cutOff = await checkRecordedHead(opened.db, recorded, { lastSeq: 4 });
    expect(cutOff).toMatchObject({ ok: false, problem: "cut_off" });
    expect(cutOff.ok === false && cutOff.reason).toMatch(
      /entries were cut off the end: the recorded head is entry 6, but the log now ends at entry 4/,
    );

    // Someone holding the key rewrites entry 2 and re-signs: the signatures pass, the head does not.
    await appendN(2);
    await opened.db.updateTable("audit_log").set({ actor_label: "someone else" }).where("seq", "=", 2).execute();
    await rechain(opened.db, testAuditSigner);
    expect(await verifyAuditChain(opened.db, testAuditSigner)).toMatchObject({ ok: true, lastSeq: 6 });
    const changed = await checkRecordedHead(opened.db, recorded, { lastSeq: 6 });
    expect(changed).toMatchObject({ ok: false, problem: "changed" });
    expect(changed.ok === false && changed.reason).toMatch(/entry 6 is not the one recorded: it or an earlier entry was changed/);
  });

  it("the database refuses UPDATE and DELETE on audit rows", async () => {
    await appendThree();
    await expect(opened.db.updateTable("audit_log").set({ actor_label: "x" }).where("seq", "=", 1).execute()).rejects.toThrow(
      /append-only/,
    );
    await expect(opened.db.updateTable("audit_log").set({ signature: null }).where("seq", "=", 1).execute()).rejects.toThrow(
      /append-only/,
    );
    await expect(opened.db.deleteFrom("audit_log").where("seq", "=", 1).execute()).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_log`.execute(opened.db)).rejects.toThrow(/append-only/);
    expect(await verifyAuditChain(opened.db, testAuditSigner)).toMatchObject({ ok: true, count: 3 });
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

describe("a log written before signing began", () => {
  let legacy: OpenedDatabase;
  const BEFORE_SIGNING = "2026_11_27_2340_audit_console_indexes";

  /** A database as the previous version left it: migrated up to before signing, with unsigned entries. */
  beforeEach(async () => {
    legacy = await testDatabase({ migrate: false });
    const migrator = new Migrator({ db: legacy.db, provider: { getMigrations: async () => migrations } });
    const result = await migrator.migrateTo(BEFORE_SIGNING);
    expect(result.error).toBeUndefined();
    let prev = GENESIS_HASH;
    for (let seq = 1; seq <= 3; seq++) {
      const base = {
        seq,
        created_at: `2026-11-2${seq}T10:00:00.000Z`,
        actor_type: "owner" as const,
        actor_id: "o",
        actor_label: "owner@example.com",
        action: "project.create",
        resource_type: "project",
        resource_id: `P${seq}`,
        changes: "{}",
        ip: "127.0.0.1",
        user_agent: "old",
        request_id: `old-${seq}`,
      };
      const hash = chainHash(prev, canonicalEntry(base));
      await sql`insert into audit_log (seq, created_at, actor_type, actor_id, actor_label, action, resource_type, resource_id,
        changes, ip, user_agent, request_id, prev_hash, hash) values (${base.seq}, ${base.created_at}, ${base.actor_type},
        ${base.actor_id}, ${base.actor_label}, ${base.action}, ${base.resource_type}, ${base.resource_id}, ${base.changes},
        ${base.ip}, ${base.user_agent}, ${base.request_id}, ${prev}, ${hash})`.execute(legacy.db);
      prev = hash;
    }
  });

  it("verifies after the upgrade: the first start with the key seals it, new entries are signed", async () => {
    await migrate(legacy.db);
    const unsealed = await verifyAuditChain(legacy.db, testAuditSigner);
    expect(unsealed).toMatchObject({ ok: false, problem: "unsealed", badSeq: 3 });

    expect(await sealLegacyAuditLog(legacy.db, testAuditSigner)).toBe(3);
    expect(await sealLegacyAuditLog(legacy.db, testAuditSigner)).toBeNull(); // once
    expect(await verifyAuditChain(legacy.db, testAuditSigner)).toMatchObject({
      ok: true,
      count: 3,
      lastSeq: 3,
      legacyThroughSeq: 3,
    });

    await appendN(2, legacy.db);
    const after = await verifyAuditChain(legacy.db, testAuditSigner);
    expect(after).toMatchObject({ ok: true, count: 5, lastSeq: 5, legacyThroughSeq: 3 });
    expect(after.ok && after.sealedAt).toMatch(/^\d{4}-/);
    // The seal is written once: not re-signable, not removable, while the triggers stand.
    await expect(legacy.db.updateTable("audit_seal").set({ signature: "x" }).execute()).rejects.toThrow(/written once/);
    await expect(legacy.db.deleteFrom("audit_seal").execute()).rejects.toThrow(/written once/);
  });

  it("a legacy entry changed and re-chained after the upgrade breaks the seal and every later signature", async () => {
    await migrate(legacy.db);
    await sealLegacyAuditLog(legacy.db, testAuditSigner);
    await appendN(2, legacy.db);
    await dropTriggers(legacy.db);
    await legacy.db.updateTable("audit_log").set({ resource_id: "P-forged" }).where("seq", "=", 2).execute();
    await rechain(legacy.db);
    const result = await verifyAuditChain(legacy.db, testAuditSigner);
    expect(result).toMatchObject({ ok: false, problem: "tampered", badSeq: 3 });
    expect(result.ok === false && result.reason).toMatch(
      /no signature verifies with public key .*: the log was signed with another key, or rewritten from entry 3 or earlier/,
    );
  });

  it("legacy entries cut off below the seal are reported as cut off", async () => {
    await migrate(legacy.db);
    await sealLegacyAuditLog(legacy.db, testAuditSigner);
    await dropTriggers(legacy.db);
    await legacy.db.deleteFrom("audit_log").where("seq", "=", 3).execute();
    const result = await verifyAuditChain(legacy.db, testAuditSigner);
    expect(result.ok === false && result.reason).toMatch(
      /cut off the end: signing began after entry 3, but the log ends at entry 2/,
    );
  });
});
