import {
  DummyDriver,
  Kysely,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type Compilable,
  type CompiledQuery,
  type Insertable,
} from "kysely";
import type { Database } from "../../db/schema";
import { executeCompiled, type Db } from "./db.server";

/**
 * A query written with Kysely (typed against the schema like every other) but built and
 * compiled once, when its module loads, instead of on every request. Building and
 * compiling a query was a fifth of the CPU of an API lookup by key (bench/lib/profile.ts);
 * here a request only fills in the parameters and runs the cached statement
 * (`executeCompiled`: at once when the connection is free, else through Kysely).
 *
 *   const tokenByHash = preparedQuery((db, p: { hash: string }) =>
 *     db.selectFrom("api_tokens").selectAll().where("token_hash", "=", p.hash));
 *   const token = await tokenByHash.first(db, { hash });
 *
 * Each `p.name` becomes one bound parameter. A value may only be used whole, as a
 * parameter: one built into a longer string or spliced into the SQL text is refused when
 * the query is compiled, so a prepared query can never carry one request's value into
 * another's SQL.
 */
export interface PreparedQuery<A, O> {
  /** The compiled SQL (for tests and EXPLAIN). */
  readonly sql: string;
  /** Every row. */
  all(db: Db, args: A): Promise<O[]>;
  /** The first row, or undefined. */
  first(db: Db, args: A): Promise<O | undefined>;
  /** Runs a statement that returns no rows; resolves to the number of rows it changed. */
  run(db: Db, args: A): Promise<number>;
}

/** A parameter slot: the caller's argument `arg`, or a constant the query was built with. */
type Slot = { arg: string } | { value: unknown };

const MARK = "\u0000preq-arg:";

/** A Kysely that only compiles: SQLite's SQL, no connection. */
function compiler(): Kysely<Database> {
  return new Kysely<Database>({
    dialect: {
      createAdapter: () => new SqliteAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new SqliteIntrospector(db),
      createQueryCompiler: () => new SqliteQueryCompiler(),
    },
  });
}

export function preparedQuery<A extends Record<string, unknown>, O>(
  build: (db: Kysely<Database>, args: A) => Compilable<O>,
): PreparedQuery<A, O> {
  const used = new Set<string>();
  // Every property read gives a marker that the compiled parameters are searched for.
  const markers = new Proxy({} as A, {
    get(_target, name) {
      if (typeof name !== "string") return undefined;
      used.add(name);
      return `${MARK}${name}`;
    },
  });
  const compiled: CompiledQuery<O> = build(compiler(), markers).compile();
  if (compiled.sql.includes(MARK)) throw new Error(`preparedQuery: an argument was spliced into the SQL: ${compiled.sql}`);
  const slots: Slot[] = compiled.parameters.map((value) => {
    if (typeof value === "string" && value.includes(MARK)) {
      if (!value.startsWith(MARK) || value.indexOf(MARK, 1) !== -1) {
        throw new Error(`preparedQuery: an argument must be a whole parameter, not part of one: ${compiled.sql}`);
      }
      return { arg: value.slice(MARK.length) };
    }
    return { value };
  });
  for (const name of used) {
    if (!slots.some((s) => "arg" in s && s.arg === name)) throw new Error(`preparedQuery: argument ${name} is not a parameter`);
  }
  const parametersOf = (args: A) =>
    slots.map((s) => {
      if (!("arg" in s)) return s.value;
      const value = args[s.arg];
      // better-sqlite3 would bind it as NULL (where Kysely leaves an undefined column out): say so instead.
      if (value === undefined) throw new TypeError(`preparedQuery: argument ${s.arg} is undefined (use null for NULL)`);
      return value;
    });

  return {
    sql: compiled.sql,
    async all(db, args) {
      return (await executeCompiled(db, compiled, parametersOf(args))).rows;
    },
    async first(db, args) {
      return (await executeCompiled(db, compiled, parametersOf(args))).rows[0];
    },
    async run(db, args) {
      return (await executeCompiled(db, compiled, parametersOf(args))).changes;
    },
  };
}

/**
 * `insert into <table> (<columns>) values (…)`, compiled once, each value bound from the
 * row by its column name. List every column the rows carry (a `satisfies Record<keyof
 * Row, …>` object's keys make the compiler check the list is complete); a row without a
 * value for one of them (undefined) is refused rather than stored with a NULL there.
 */
export function preparedInsert<T extends keyof Database & string>(
  table: T,
  columns: readonly (keyof Insertable<Database[T]> & string)[],
): PreparedQuery<Insertable<Database[T]>, never> {
  return preparedQuery((db, row: Insertable<Database[T]>) =>
    db.insertInto(table).values(Object.fromEntries(columns.map((column) => [column, row[column]])) as Insertable<Database[T]>),
  ) as PreparedQuery<Insertable<Database[T]>, never>;
}
