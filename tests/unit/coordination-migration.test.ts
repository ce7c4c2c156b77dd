/**
 * Migration 2026_12_07_2320_coordination rebuilds the audit log so its actor may be
 * `system`: entries written before it keep their text, so the chain and signatures
 * still verify, and the log stays append-only.
 */
import { Migrator } from "kysely/migration";
import { describe, expect, it } from "vitest";
import { migrations } from "../../db/migrations";
import { sealLegacyAuditLog, verifyAuditChain } from "../../app/lib/audit/log.server";
import { migrate, openDatabase } from "../../app/lib/db.server";
import { testAudit, testAuditSigner, testDir, auditInTransaction } from "../support/kit";
import path from "node:path";

describe("the coordination migration", () => {
  it("keeps every audit entry verifiable and the log append-only, and admits the system actor", async () => {
    const { db, sqlite } = openDatabase(path.join(testDir(), "m.db"));
    try {
      const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
      const before = await migrator.migrateTo("2026_12_01_2300_two_factor");
      expect(before.error).toBeUndefined();
      await sealLegacyAuditLog(db, testAuditSigner);
      for (let i = 0; i < 5; i += 1) {
        await auditInTransaction(db, testAudit, {
          action: "project.create",
          resourceType: "project",
          resourceId: `P${i}`,
          changes: {},
        });
      }
      const rows = sqlite.prepare("select * from audit_log order by seq").all();
      await migrate(db);
      expect(sqlite.prepare("select * from audit_log order by seq").all()).toEqual(rows);
      await auditInTransaction(
        db,
        { ...testAudit, actor: { type: "system", id: "system", label: "system" } },
        { action: "task.lease_expired", resourceType: "task", resourceId: "X-1", changes: {} },
      );
      expect((await verifyAuditChain(db, testAuditSigner)).ok).toBe(true);
      expect(() => sqlite.prepare("update audit_log set actor_label = 'x' where seq = 1").run()).toThrow(/append-only/);
      expect(() => sqlite.prepare("delete from audit_log where seq = 1").run()).toThrow(/append-only/);
      const indexes = sqlite
        .prepare(
          "select name from sqlite_master where type = 'index' and tbl_name = 'audit_log' and name not like 'sqlite_%' order by name",
        )
        .all();
      expect(indexes.map((r) => (r as { name: string }).name)).toEqual([
        "audit_log_action",
        "audit_log_actor",
        "audit_log_actor_type",
        "audit_log_created_at",
        "audit_log_resource",
        "audit_log_resource_id",
        "audit_log_resource_type",
      ]);
    } finally {
      await db.destroy();
    }
  });
});
