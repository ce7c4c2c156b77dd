import SQLite from "better-sqlite3";
import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from "vitest";
import { verifyAuditChain } from "../../app/lib/audit/log.server";
import type { AuditEntry } from "../../db/schema";
import {
  committerOf,
  DEFAULT_GROUP_COMMIT,
  nowIso,
  openDatabase,
  transaction,
  type Db,
  type GroupCommitOptions,
  type OpenedDatabase,
} from "~/lib/db.server";
import { testAudit, testAuditSigner, testDatabase, type TestDatabase, auditInTransaction } from "../support/kit";

// Group commit (app/lib/db.server.ts): concurrent transaction() calls share one
// BEGIN IMMEDIATE … COMMIT, each in its own savepoint. These tests use a real SQLite
// file, and a second connection to it to see what is really committed.

let opened: TestDatabase;
/**
 * The handle most tests write through: the same file, with the 20 ms time cap lifted so
 * that a loaded test machine cannot split a batch the test counts on (the cap has its own test).
 */
let gc: OpenedDatabase;
let reader: SQLite.Database;
beforeEach(async () => {
  opened = await testDatabase({ file: true });
  gc = openDatabase(opened.dbPath, { groupCommit: { maxBatchMs: 60_000 } });
  reader = new SQLite(opened.dbPath, { readonly: true });
});
afterEach(async () => {
  reader.close();
  await gc.db.destroy();
  vi.useRealTimers();
});

/** A second handle on the test's (migrated) file with other group-commit settings, closed after the test. */
function reopen(groupCommit: GroupCommitOptions) {
  const handle = openDatabase(opened.dbPath, { groupCommit });
  onTestFinished(() => handle.db.destroy());
  return handle;
}

/** What another connection sees: only committed rows. */
const committedAuditIds = () =>
  (reader.prepare("select resource_id from audit_log order by seq").all() as { resource_id: string }[]).map((r) => r.resource_id);
const committedProjectKeys = () =>
  (reader.prepare("select project_key from projects order by project_key").all() as { project_key: string }[]).map(
    (r) => r.project_key,
  );

function audit(db: Db, resourceId: string): Promise<AuditEntry> {
  return auditInTransaction(db, testAudit, { action: "project.create", resourceType: "project", resourceId, changes: {} });
}

async function insertProject(trx: Db, key: string) {
  const at = nowIso();
  await trx
    .insertInto("projects")
    .values({
      id: `id-${key}`,
      project_key: key,
      name: key,
      description: "",
      settings: "{}",
      next_task_number: 1,
      created_at: at,
      updated_at: at,
    })
    .execute();
}

/** A domain command's shape: a change and its audit entry in one transaction(). */
function createProject(db: Db, key: string, failAfterWriting?: Error) {
  return transaction(db, async (trx) => {
    await insertProject(trx, key);
    await audit(trx, key);
    if (failAfterWriting) throw failAfterWriting;
    return key;
  });
}

describe("group commit", () => {
  it("commits concurrent transactions with one COMMIT, and resolves none before that COMMIT", async () => {
    const keys = Array.from({ length: 20 }, (_, i) => `GC${i}`);
    const seenCommitted: boolean[] = [];
    await Promise.all(
      keys.map((key, i) =>
        createProject(gc.db, key).then(() => {
          // Checked the moment this caller hears back: its row is already on disk for others.
          seenCommitted[i] = committedProjectKeys().includes(key) && committedAuditIds().includes(key);
        }),
      ),
    );
    expect(seenCommitted).toEqual(keys.map(() => true));
    expect(gc.committer.stats).toMatchObject({
      batches: 1,
      commits: 1,
      committed: 20,
      rolledBack: 0,
      failedBatches: 0,
      largestBatch: 20,
    });
    expect(committerOf(gc.db)).toBe(gc.committer);
  });

  it("rolls back a failing mutation alone: its caller gets its error, its neighbours commit, the audit chain verifies", async () => {
    await createProject(gc.db, "TAKEN");
    const before = gc.committer.stats.commits;
    const ownError = new Error("rejected by the domain after writing");
    const calls = [
      createProject(gc.db, "GOOD1"),
      createProject(gc.db, "BAD1", ownError), // wrote a project and an audit entry, then threw
      createProject(gc.db, "GOOD2"),
      createProject(gc.db, "TAKEN"), // UNIQUE constraint: SQLite refuses the insert
      createProject(gc.db, "GOOD3"),
    ];
    const results = await Promise.allSettled(calls);

    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "rejected", "fulfilled"]);
    expect((results[1] as PromiseRejectedResult).reason).toBe(ownError);
    expect((results[3] as PromiseRejectedResult).reason).toMatchObject({ code: "SQLITE_CONSTRAINT_UNIQUE" });
    expect(gc.committer.stats.commits - before).toBe(1); // all five were one batch
    expect(gc.committer.stats).toMatchObject({ rolledBack: 2, largestBatch: 5 });

    expect(committedProjectKeys()).toEqual(["GOOD1", "GOOD2", "GOOD3", "TAKEN"]);
    // Gapless: the failed ones' entries are gone and the next one took their place in the chain.
    const rows = reader.prepare("select seq, resource_id from audit_log order by seq").all();
    expect(rows).toEqual([
      { seq: 1, resource_id: "TAKEN" },
      { seq: 2, resource_id: "GOOD1" },
      { seq: 3, resource_id: "GOOD2" },
      { seq: 4, resource_id: "GOOD3" },
    ]);
    expect(await verifyAuditChain(gc.db, testAuditSigner)).toMatchObject({ ok: true, count: 4, lastSeq: 4 });
  });

  it("keeps the audit chain gapless and in call order under many concurrent appendAudit calls", async () => {
    // Only the size cap applies here (no time cap: see gc above).
    const db = gc;
    const n = 300;
    await Promise.all(Array.from({ length: n }, (_, i) => audit(db.db, `R-${i}`)));
    expect(committedAuditIds()).toEqual(Array.from({ length: n }, (_, i) => `R-${i}`));
    expect(await verifyAuditChain(db.db, testAuditSigner)).toMatchObject({ ok: true, count: n, lastSeq: n });
    expect(db.committer.stats).toMatchObject({
      commits: Math.ceil(n / DEFAULT_GROUP_COMMIT.maxBatchSize),
      committed: n,
      largestBatch: 128,
    });
  });

  it("commits a lone writer at once, waiting for no timer", async () => {
    // Every timer faked and never advanced: a commit that waited for one would hang here.
    vi.useFakeTimers();
    const key = await createProject(opened.db, "LONE");
    expect(key).toBe("LONE");
    expect(committedProjectKeys()).toEqual(["LONE"]);
    expect(opened.committer.stats).toMatchObject({ batches: 1, commits: 1, largestBatch: 1 });
  });

  it("caps a batch at maxBatchSize calls: the rest commit in the next batch", async () => {
    const capped = reopen({ maxBatchSize: 3, maxBatchMs: 60_000 });
    await Promise.all(Array.from({ length: 7 }, (_, i) => createProject(capped.db, `CAP${i}`)));
    expect(capped.committer.stats).toMatchObject({ batches: 3, commits: 3, committed: 7, largestBatch: 3 });
    expect(await verifyAuditChain(capped.db, testAuditSigner)).toMatchObject({ ok: true, count: 7 });
  });

  it("caps a batch at maxBatchMs of work: past it, the batch commits what it has", async () => {
    const capped = reopen({ maxBatchMs: 0 }); // every call is over the time at once: one call per batch
    await Promise.all(Array.from({ length: 4 }, (_, i) => createProject(capped.db, `T${i}`)));
    expect(capped.committer.stats).toMatchObject({ batches: 4, commits: 4, committed: 4, largestBatch: 1 });
    expect(committedProjectKeys()).toEqual(["T0", "T1", "T2", "T3"]);
  });

  it("rejects every member of a batch whose COMMIT fails, and commits nothing of it", async () => {
    // A deferred foreign key is checked at COMMIT: one member's dangling row makes COMMIT fail.
    await sql`create table gc_parent (id integer primary key)`.execute(gc.db);
    await sql`create table gc_child (id integer primary key, parent integer references gc_parent(id) deferrable initially deferred)`.execute(
      gc.db,
    );
    const before = { ...gc.committer.stats };
    const results = await Promise.allSettled([
      createProject(gc.db, "LOST1"),
      transaction(gc.db, async (trx) => {
        await sql`insert into gc_child (id, parent) values (1, 42)`.execute(trx);
        await audit(trx, "DANGLING");
      }),
      createProject(gc.db, "LOST2"),
    ]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    for (const r of results) expect((r as PromiseRejectedResult).reason).toMatchObject({ code: "SQLITE_CONSTRAINT_FOREIGNKEY" });
    expect(gc.committer.stats.failedBatches - before.failedBatches).toBe(1);
    expect(gc.committer.stats.commits).toBe(before.commits);
    expect(committedProjectKeys()).toEqual([]);
    expect(committedAuditIds()).toEqual([]);
    // The connection is usable again: the next batch starts clean.
    await createProject(gc.db, "AFTER");
    expect(committedProjectKeys()).toEqual(["AFTER"]);
    expect(await verifyAuditChain(gc.db, testAuditSigner)).toMatchObject({ ok: true, count: 1 });
  });

  it("does not acknowledge a failed mutation before its batch's fate is known", async () => {
    const order: string[] = [];
    await Promise.allSettled([
      createProject(gc.db, "FIRST").then(() => order.push("FIRST resolved")),
      createProject(gc.db, "SECOND", new Error("no")).catch(() => {
        order.push(`SECOND rejected, FIRST committed: ${committedProjectKeys().includes("FIRST")}`);
      }),
    ]);
    expect(order).toEqual(["FIRST resolved", "SECOND rejected, FIRST committed: true"]);
  });

  it("lets a nested transaction() join the running batch, and refuses a transaction handle used after its batch ended", async () => {
    let leaked: Db | null = null;
    const value = await transaction(gc.db, async (trx) => {
      leaked = trx;
      await insertProject(trx, "OUTER");
      // Joins (no new batch, no deadlock waiting for the connection this batch holds).
      return transaction(trx, async (inner) => {
        await audit(inner, "OUTER");
        return "nested";
      });
    });
    expect(value).toBe("nested");
    expect(gc.committer.stats).toMatchObject({ batches: 1, commits: 1, committed: 1 });
    await expect(transaction(leaked!, async () => "late")).rejects.toThrow(/already ended/);
  });

  it("refuses a Kysely instance that openDatabase() did not make", async () => {
    const { Kysely, SqliteDialect } = await import("kysely");
    const bare = new Kysely<never>({ dialect: new SqliteDialect({ database: new SQLite(":memory:") }) }) as unknown as Db;
    await expect(transaction(bare, async () => 1)).rejects.toThrow(/openDatabase/);
    await bare.destroy();
  });
});
