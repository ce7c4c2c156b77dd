import fs from "node:fs";
import path from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, Migrator, SqliteDialect, sql, type MigrationResultSet } from "kysely";
import { migrations } from "../../db/migrations";
import type { Database } from "../../db/schema";

export type Db = Kysely<Database>;

/**
 * How to open the database. `nativeBinding` is better-sqlite3's own option: the addon
 * already loaded (the single executable unpacks and verifies its embedded copy) or the
 * path of a `.node` file; without it, the package's own build in node_modules is used.
 */
export interface DatabaseOptions {
  nativeBinding?: string | object;
}

export interface OpenedDatabase {
  db: Db;
  sqlite: SQLite.Database;
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
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  return { db, sqlite };
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

const inTransaction = new WeakSet<object>();

/**
 * Runs `fn` in one `BEGIN IMMEDIATE` transaction: the write lock is taken up front,
 * so a read-then-write (the audit chain's head, a task counter) cannot race another
 * process. A call inside a running transaction joins it.
 */
export async function transaction<T>(db: Db, fn: (trx: Db) => Promise<T>): Promise<T> {
  if (inTransaction.has(db)) return fn(db);
  return db.connection().execute(async (conn) => {
    await sql`begin immediate`.execute(conn);
    inTransaction.add(conn);
    try {
      const result = await fn(conn);
      await sql`commit`.execute(conn);
      return result;
    } catch (error) {
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw error;
    } finally {
      inTransaction.delete(conn);
    }
  });
}

/** True for SQLite errors that mean "the disk refuses writes right now". */
export function isStorageUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    typeof code === "string" &&
    /^SQLITE_(READONLY|FULL|IOERR|CANTOPEN|BUSY|LOCKED|PROTOCOL|NOTADB|CORRUPT)/.test(code)
  );
}

/** Current time as the ISO 8601 UTC string every table stores. */
export function nowIso(now: number = Date.now()): string {
  return new Date(now).toISOString();
}
