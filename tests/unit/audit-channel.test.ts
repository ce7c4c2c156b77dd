import { sql } from "kysely";
import { Migrator } from "kysely/migration";
import { beforeEach, describe, expect, it } from "vitest";
import type { AuditInput } from "~/lib/audit/log.server";
import {
  canonicalEntry,
  chainHash,
  GENESIS_HASH,
  sealLegacyAuditLog,
  verifyAuditChain as verifyWith,
  type AuditContext,
} from "~/lib/audit/log.server";
import { migrate, type OpenedDatabase } from "~/lib/db.server";
import { migrations } from "../../db/migrations";
import { testAuditSigner } from "../support/audit-key";
import { auditInTransaction, testDatabase } from "../support/kit";

const base = { ip: "203.0.113.4", userAgent: "agent/2", requestId: "req-1", signer: testAuditSigner };
const verifyAuditChain = (db: OpenedDatabase["db"]) => verifyWith(db, testAuditSigner);
const token: AuditContext = { ...base, actor: { type: "token", id: "7", label: "agent" } };
const input = (id: string): AuditInput => ({
  action: "task.update",
  resourceType: "task",
  resourceId: id,
  changes: { title: { before: "a", after: "b" } },
});

let opened: OpenedDatabase;
beforeEach(async () => {
  opened = await testDatabase({ migrate: false }); // each test migrates: one starts from an older schema
});

const rows = () => opened.db.selectFrom("audit_log").selectAll().orderBy("seq").execute();

describe("audit channel", () => {
  it("records the channel given, else the actor's: token → api, owner → web, cli → cli", async () => {
    await migrate(opened.db);
    await auditInTransaction(opened.db, { ...token, channel: "mcp" }, input("P-1"));
    await auditInTransaction(opened.db, token, input("P-2"));
    await auditInTransaction(opened.db, { ...base, actor: { type: "owner", id: "o", label: "me@example.com" } }, input("P-3"));
    await auditInTransaction(opened.db, { ...base, actor: { type: "cli", id: "cli", label: "cli (root@host)" } }, input("P-4"));
    expect((await rows()).map((r) => r.channel)).toEqual(["mcp", "api", "web", "cli"]);
    expect(await verifyAuditChain(opened.db)).toMatchObject({ ok: true, count: 4 });
  });

  it("still verifies entries written before channels existed (NULL channel, hashed without it), then new ones", async () => {
    // An entry as the previous release wrote it: no channel, its hash over the twelve original fields.
    const legacy = {
      seq: 1,
      created_at: "2026-11-28T10:00:00.000Z",
      actor_type: "token" as const,
      actor_id: "7",
      actor_label: "agent",
      action: "task.create",
      resource_type: "task",
      resource_id: "P-1",
      changes: "{}",
      ip: "203.0.113.4",
      user_agent: "agent/2",
      request_id: "req-0",
    };
    const legacyCanonical = JSON.stringify(Object.values(legacy));
    expect(canonicalEntry(legacy)).toBe(legacyCanonical);
    const hash = chainHash(GENESIS_HASH, legacyCanonical);
    // Written by the release before signatures and channels: migrate up to it, write, then upgrade.
    const migrator = new Migrator({ db: opened.db, provider: { getMigrations: async () => migrations } });
    await migrator.migrateTo("2026_11_27_2340_audit_console_indexes");
    await sql`insert into audit_log (seq, created_at, actor_type, actor_id, actor_label, action, resource_type, resource_id, changes, ip, user_agent, request_id, prev_hash, hash)
      values (${legacy.seq}, ${legacy.created_at}, ${legacy.actor_type}, ${legacy.actor_id}, ${legacy.actor_label}, ${legacy.action}, ${legacy.resource_type}, ${legacy.resource_id}, ${legacy.changes}, ${legacy.ip}, ${legacy.user_agent}, ${legacy.request_id}, ${GENESIS_HASH}, ${hash})`.execute(
      opened.db,
    );
    await migrate(opened.db);
    await sealLegacyAuditLog(opened.db, testAuditSigner);
    await auditInTransaction(opened.db, { ...token, channel: "mcp" }, input("P-1"));
    const [old, fresh] = await rows();
    expect(old!.channel).toBeNull();
    expect(fresh!.channel).toBe("mcp");
    expect(fresh!.prev_hash).toBe(hash);
    expect(await verifyAuditChain(opened.db)).toMatchObject({ ok: true, count: 2 });
  });

  it("covers the channel by the hash: changing or clearing it is detected at that entry", async () => {
    await migrate(opened.db);
    await auditInTransaction(opened.db, { ...token, channel: "mcp" }, input("P-1"));
    await auditInTransaction(opened.db, { ...token, channel: "mcp" }, input("P-2"));
    await sql`drop trigger audit_log_no_update`.execute(opened.db);
    await opened.db.updateTable("audit_log").set({ channel: "api" }).where("seq", "=", 2).execute();
    expect(await verifyAuditChain(opened.db)).toMatchObject({ ok: false, badSeq: 2 });
    await opened.db.updateTable("audit_log").set({ channel: null }).where("seq", "=", 2).execute();
    expect(await verifyAuditChain(opened.db)).toMatchObject({ ok: false, badSeq: 2 });
  });

  it("refuses a channel outside the four known ones at the database", async () => {
    await migrate(opened.db);
    await auditInTransaction(opened.db, token, input("P-1"));
    const head = (await rows())[0]!;
    await expect(
      opened.db
        .insertInto("audit_log")
        .values({ ...head, seq: 2, prev_hash: head.hash, hash: "x".repeat(64), channel: "email" as never })
        .execute(),
    ).rejects.toThrow(/CHECK constraint/);
  });
});
