import fs from "node:fs";
import path from "node:path";
import { setImmediate } from "node:timers";
import SQLite from "better-sqlite3";
import {
  Kysely,
  SqliteDialect,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
  type CompiledQuery,
} from "kysely";
import { Migrator, type MigrationResultSet } from "kysely/migration";
import { migrations } from "../../db/migrations";
import type { Database } from "../../db/schema";

export type Db = Kysely<Database>;

declare const IN_TRANSACTION: unique symbol;
/**
 * The database as `transaction()` hands it to its callback: the same object as a `Db`,
 * typed apart so that what must run inside a transaction (an audit append) cannot be
 * given a plain `Db` by mistake.
 */
export type Trx = Db & { readonly [IN_TRANSACTION]: true };

/**
 * How to open the database. `nativeBinding` is better-sqlite3's own option: the addon
 * already loaded (the single executable unpacks and verifies its embedded copy) or the
 * path of a `.node` file; without it, the package's own build in node_modules is used.
 */
export interface DatabaseOptions {
  nativeBinding?: string | object;
  /** How transactions are grouped into commits (see GroupCommitter); the defaults suit the server. */
  groupCommit?: GroupCommitOptions;
}

export interface OpenedDatabase {
  db: Db;
  sqlite: SQLite.Database;
  /** Groups this database's transactions into shared commits; also reachable as committerOf(db). */
  committer: GroupCommitter;
}

/**
 * Opens (creating if needed) the SQLite file with the settings every caller needs:
 * WAL, foreign keys, a busy timeout, and `synchronous=FULL` so an acknowledged
 * write survives power loss, not just a crash.
 */
export function openDatabase(file: string, options: DatabaseOptions = {}): OpenedDatabase {
  if (file !== ":memory:") {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // Create the file readable by its owner only before SQLite opens it: SQLite gives
    // the -wal and -shm files the database file's permissions.
    fs.closeSync(fs.openSync(file, "a", 0o600));
  }
  // @types/better-sqlite3 declares only the string form; the library takes an addon object as well.
  const sqlite = new SQLite(file, options.nativeBinding === undefined ? {} : { nativeBinding: options.nativeBinding as string });
  if (file !== ":memory:") {
    for (const f of [file, `${file}-wal`, `${file}-shm`]) {
      if (fs.existsSync(f)) fs.chmodSync(f, 0o600);
    }
  }
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = FULL");
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma("busy_timeout = 5000");
  const statements = withStatementCache(sqlite);
  const committer = new GroupCommitter(sqlite, options.groupCommit, statements);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: statements }), plugins: [committer] });
  return { db, sqlite, committer };
}

/** How many distinct SQL texts keep their prepared statement. Queries are built from a fixed set of shapes. */
export const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely prepares every query again (better-sqlite3's `prepare` was 12% of CPU on a
 * task lookup). This hands Kysely a view of the database whose `prepare` reuses the
 * statement for the same SQL text, least recently used evicted first. A statement
 * still busy (an unfinished `iterate`) is never handed out twice: that caller gets a
 * fresh one.
 */
export function withStatementCache(sqlite: SQLite.Database, size = STATEMENT_CACHE_SIZE) {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sqlText: string): SQLite.Statement {
      const cached = cache.get(sqlText);
      if (cached) {
        if (cached.busy) return sqlite.prepare(sqlText);
        cache.delete(sqlText); // re-insert: most recently used goes last
        cache.set(sqlText, cached);
        return cached;
      }
      const statement = sqlite.prepare(sqlText);
      if (cache.size >= size) cache.delete(cache.keys().next().value!);
      cache.set(sqlText, statement);
      return statement;
    },
  };
}

/** Applies every pending migration; throws (naming the migration) if one fails. */
export async function migrate(db: Db): Promise<MigrationResultSet> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const result = await migrator.migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    throw new Error(`Migration ${failed} failed: ${(result.error as Error).message ?? result.error}`, {
      cause: result.error,
    });
  }
  return result;
}

/**
 * Group commit: every `transaction()` of one opened database goes through its
 * committer. Calls that arrive together are run one after another inside ONE
 * `BEGIN IMMEDIATE … COMMIT`, so a batch pays for one fsync instead of one each (on a
 * disk where an fsync costs milliseconds, that is the whole difference):
 *
 *   - The first call schedules a batch for the next turn of the event loop
 *     (`setImmediate`); every call made until the batch takes the connection joins it.
 *     Under load the requests parsed in one turn (whose reads are done) land in one
 *     batch; a lone writer waits only for that one turn, no timer.
 *   - Each call runs inside its own SAVEPOINT. When it throws, only its savepoint is
 *     rolled back and only its caller gets the error; the others go on and commit.
 *     That error, too, is delivered only once the batch's fate is known (it may have
 *     failed because of what an earlier call wrote).
 *   - Calls run strictly one after another, in arrival order, never interleaved: each
 *     sees what the previous ones wrote (the audit chain's head, a task counter).
 *   - No caller's promise settles successfully before COMMIT has returned (with
 *     `synchronous=FULL`: before the batch is on disk). When COMMIT fails, or an
 *     error (a full disk, an I/O error) makes SQLite roll the whole transaction
 *     back, every call of the batch is rejected with that error: none is acknowledged.
 *   - A batch takes at most `maxBatchSize` calls or `maxBatchMs` of work, then commits;
 *     the rest form the next batch, after the queries waiting for the connection had
 *     their turn. The connection is held for the whole batch, as it was for one
 *     transaction before, so reads never see writes that are not committed yet.
 *
 * The committer lives on the database it belongs to: openDatabase() creates it and
 * registers it as a Kysely plugin of the returned `Db`, so `transaction(db, fn)`
 * finds it from any `Db` derived from that one (the connection-bound one a batch hands
 * to `fn` included) — no module state, and two opened databases never share a batch.
 */
export interface GroupCommitOptions {
  /** At most this many calls per COMMIT. */
  maxBatchSize?: number;
  /** Once a batch has worked this long, it commits what it has; the rest wait for the next one. */
  maxBatchMs?: number;
}

export const DEFAULT_GROUP_COMMIT: Required<GroupCommitOptions> = { maxBatchSize: 128, maxBatchMs: 20 };

/** What a committer has done, for tests and diagnostics. */
export interface GroupCommitStats {
  /** Batches begun (`BEGIN IMMEDIATE`). */
  batches: number;
  /** Successful COMMITs, i.e. fsyncs of the WAL. */
  commits: number;
  /** Batches lost as a whole: BEGIN, COMMIT or the transaction itself failed. */
  failedBatches: number;
  /** Calls committed. */
  committed: number;
  /** Calls that threw and were rolled back to their savepoint alone. */
  rolledBack: number;
  /** The most calls one COMMIT carried. */
  largestBatch: number;
}

interface Pending {
  fn: (trx: Db) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/*
 * The committer and the batch marker are recognised by a registered symbol rather than
 * `instanceof`, so the check does not depend on how many copies of this module a bundle
 * holds (the server takes its services from the Remix build since app/entry.server.tsx
 * exports them, but the admin CLI's bundle has a copy of its own).
 */
const GROUP_COMMITTER = Symbol.for("preqstation.db.groupCommitter");
const OPEN_BATCH = Symbol.for("preqstation.db.openBatch");

type Outcome = { member: Pending; ok: true; value: unknown } | { member: Pending; ok: false; error: unknown };

/** The whole batch is lost (SQLite rolled the transaction back, or COMMIT failed): every member gets `error`. */
class BatchLost {
  constructor(readonly error: unknown) {}
}

/**
 * Marks the `Db` handed to the calls of a running batch: a `transaction()` on it joins
 * the batch (a nested call) instead of queueing behind it.
 */
class OpenBatch implements KyselyPlugin {
  readonly [OPEN_BATCH] = true;
  open = true;
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

export class GroupCommitter implements KyselyPlugin {
  readonly [GROUP_COMMITTER] = true;
  readonly stats: GroupCommitStats = { batches: 0, commits: 0, failedBatches: 0, committed: 0, rolledBack: 0, largestBatch: 0 };
  readonly #sqlite: SQLite.Database;
  readonly #statements: { prepare(sqlText: string): SQLite.Statement };
  readonly #options: Required<GroupCommitOptions>;
  readonly #queue: Pending[] = [];
  /** A batch is scheduled or running; a new call only has to queue. */
  #active = false;

  constructor(
    sqlite: SQLite.Database,
    options: GroupCommitOptions = {},
    statements: { prepare(sqlText: string): SQLite.Statement } = sqlite,
  ) {
    this.#sqlite = sqlite;
    this.#statements = statements;
    this.#options = { ...DEFAULT_GROUP_COMMIT, ...options };
  }

  /**
   * Runs a compiled statement on the connection right away, or returns null when it
   * may not: another caller's transaction (a batch) is open on it. `inBatch` says the
   * caller is a member of the running batch, which holds the connection.
   */
  runNow(sqlText: string, parameters: readonly unknown[], inBatch: boolean): { rows: unknown[]; changes: number } | null {
    // Outside a batch, a read on a connection inside a transaction would see writes
    // that are not committed yet (and may never be): it waits, through Kysely, for the
    // connection like any other query.
    if (!inBatch && this.#sqlite.inTransaction) return null;
    const statement = this.#statements.prepare(sqlText);
    if (statement.reader) return { rows: statement.all(parameters), changes: 0 };
    return { rows: [], changes: statement.run(parameters).changes };
  }

  // A plugin only to be reachable from the Db: queries pass through unchanged.
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }

  /** Queues `fn` for the next batch of `db`'s connection; settles once that batch committed (or failed). */
  run<T>(db: Db, fn: (trx: Db) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      this.#schedule(db);
    });
  }

  #schedule(db: Db) {
    if (this.#active) return;
    this.#active = true;
    // node:timers' own setImmediate, not the global: a test's fake timers must not stop commits.
    setImmediate(() => {
      this.#batch(db).finally(() => {
        this.#active = false;
        if (this.#queue.length > 0) this.#schedule(db);
      });
    });
  }

  async #batch(db: Db): Promise<void> {
    // The calls taken from the queue, in order, with how each went. Nobody hears anything
    // before the batch's fate is known: a call that failed may have failed because of
    // what an earlier one wrote, which a failed COMMIT takes back.
    const outcomes: Outcome[] = [];
    let current: Pending | null = null;
    try {
      await db.connection().execute(async (conn) => {
        const marker = new OpenBatch();
        const trx = conn.withPlugin(marker);
        try {
          // Taken only now: calls queued while the connection was busy join this batch.
          if (this.#queue.length === 0) return;
          this.stats.batches += 1;
          try {
            this.#exec("begin immediate");
          } catch (error) {
            throw new BatchLost(error);
          }
          const started = performance.now();
          while (
            this.#queue.length > 0 &&
            outcomes.length < this.#options.maxBatchSize &&
            (outcomes.length === 0 || performance.now() - started < this.#options.maxBatchMs)
          ) {
            current = this.#queue.shift()!;
            outcomes.push(await this.#runMember(trx, current));
            current = null;
          }
          if (!this.#sqlite.inTransaction) throw new BatchLost(new Error("the transaction ended before COMMIT"));
          try {
            this.#exec("commit");
          } catch (error) {
            throw new BatchLost(error);
          }
          this.stats.commits += 1;
          this.stats.committed += outcomes.filter((o) => o.ok).length;
          this.stats.rolledBack += outcomes.filter((o) => !o.ok).length;
          this.stats.largestBatch = Math.max(this.stats.largestBatch, outcomes.length);
        } catch (error) {
          if (this.#sqlite.inTransaction) {
            try {
              this.#exec("rollback");
            } catch {
              // The connection is closed or broken: nothing left to roll back here.
            }
          }
          throw error;
        } finally {
          marker.open = false;
        }
      });
    } catch (error) {
      // The batch is lost: nothing of it was committed, so no member may be acknowledged.
      this.stats.failedBatches += 1;
      const cause = error instanceof BatchLost ? error.error : error;
      const members = [...outcomes.map((o) => o.member), ...(current ? [current] : [])];
      // BEGIN failed before anything ran: the calls of this batch get its error, as one transaction did before.
      if (members.length === 0) members.push(...this.#queue.splice(0, this.#options.maxBatchSize));
      for (const member of members) member.reject(cause);
      return;
    }
    for (const outcome of outcomes) {
      if (outcome.ok) outcome.member.resolve(outcome.value);
      else outcome.member.reject(outcome.error);
    }
  }

  /**
   * Runs a transaction-control statement on the connection the batch holds, straight on
   * its cached statement: the batch owns the connection, so nothing needs queueing.
   */
  #exec(sqlText: string): void {
    this.#statements.prepare(sqlText).run();
  }

  /** Runs one call in its own savepoint; when it throws, rolls back that savepoint alone. */
  async #runMember(trx: Db, member: Pending): Promise<Outcome> {
    try {
      this.#exec("savepoint preq_member");
    } catch (error) {
      throw new BatchLost(error);
    }
    let value: unknown;
    try {
      value = await member.fn(trx);
    } catch (error) {
      try {
        this.#exec("rollback to preq_member");
        this.#exec("release preq_member");
      } catch {
        // SQLite rolled the whole transaction back (SQLITE_FULL, SQLITE_IOERR, …): the batch is gone.
        throw new BatchLost(error);
      }
      return { member, ok: false, error };
    }
    try {
      this.#exec("release preq_member");
    } catch (error) {
      throw new BatchLost(error);
    }
    return { member, ok: true, value };
  }
}

/**
 * Runs a query compiled ahead of time (app/lib/prepared-query.server.ts) with these
 * parameters: the same SQL, the same cached statement and the same rows as through
 * Kysely, without building, compiling or queueing for the connection. It runs at once
 * when no transaction is open on the connection, or when `db` is the one a running
 * batch handed its member (which holds the connection); otherwise (another caller's
 * batch is open) it waits for the connection through Kysely, as every query does.
 */
export async function executeCompiled<O>(
  db: Db,
  query: CompiledQuery<O>,
  parameters: readonly unknown[],
): Promise<{ rows: O[]; changes: number }> {
  let committer: GroupCommitter | null = null;
  let inBatch = false;
  for (const plugin of db.getExecutor().plugins) {
    if (GROUP_COMMITTER in plugin) committer = plugin as GroupCommitter;
    else if (OPEN_BATCH in plugin) {
      if (!(plugin as OpenBatch).open) throw new Error("executeCompiled: this transaction has already ended");
      inBatch = true;
    }
  }
  const now = committer?.runNow(query.sql, parameters, inBatch);
  if (now) return now as { rows: O[]; changes: number };
  const result = await db.executeQuery<O>({ ...query, parameters });
  return { rows: result.rows, changes: Number(result.numAffectedRows ?? 0n) };
}

/** The committer of a database opened with openDatabase(), or null. */
export function committerOf(db: Db): GroupCommitter | null {
  for (const plugin of db.getExecutor().plugins) if (GROUP_COMMITTER in plugin) return plugin as GroupCommitter;
  return null;
}

/**
 * Runs `fn` in a `BEGIN IMMEDIATE` transaction: the write lock is taken up front, so
 * a read-then-write (the audit chain's head, a task counter) cannot race another
 * process. Concurrent calls share one transaction and one COMMIT, each in its own
 * savepoint (group commit: see GroupCommitter). The promise resolves once the
 * transaction has committed; when `fn` throws, only its own changes are rolled back
 * and the promise rejects with its error. A call inside a running transaction (with
 * the `trx` it was given) joins it, without a savepoint of its own.
 */
export async function transaction<T>(db: Db, fn: (trx: Trx) => Promise<T>): Promise<T> {
  const plugins = db.getExecutor().plugins;
  for (const plugin of plugins) {
    if (OPEN_BATCH in plugin) {
      if (!(plugin as OpenBatch).open) throw new Error("transaction: this transaction has already ended");
      return fn(db as Trx);
    }
  }
  const committer = committerOf(db);
  if (!committer) throw new Error("transaction: the database was not opened with openDatabase()");
  return committer.run(db, fn as (trx: Db) => Promise<T>);
}

/** True for SQLite errors that mean "the disk refuses writes right now". */
export function isStorageUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^SQLITE_(READONLY|FULL|IOERR|CANTOPEN|BUSY|LOCKED|PROTOCOL|NOTADB|CORRUPT)/.test(code);
}

/** Current time as the ISO 8601 UTC string every table stores. */
export function nowIso(now: number = Date.now()): string {
  return new Date(now).toISOString();
}
