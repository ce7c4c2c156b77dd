import SQLite from "better-sqlite3";
import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { migrate, openDatabase, withStatementCache, type OpenedDatabase } from "~/lib/db.server";

describe("the prepared-statement cache Kysely runs on", () => {
  let raw: SQLite.Database;
  let opened: OpenedDatabase | undefined;
  afterEach(async () => {
    if (raw?.open) raw.close();
    await opened?.db.destroy();
    opened = undefined;
  });

  it("hands back the same prepared statement for the same SQL text", () => {
    raw = new SQLite(":memory:");
    const cached = withStatementCache(raw);
    expect(cached.prepare("select 1 as one")).toBe(cached.prepare("select 1 as one"));
    expect(cached.prepare("select 2 as two")).not.toBe(cached.prepare("select 1 as one"));
  });

  it("never hands out a statement that is still iterating", () => {
    raw = new SQLite(":memory:");
    raw.exec("create table t (n integer); insert into t values (1), (2), (3);");
    const cached = withStatementCache(raw);
    const first = cached.prepare("select n from t order by n");
    const iterator = first.iterate();
    expect(iterator.next().value).toEqual({ n: 1 });
    const second = cached.prepare("select n from t order by n");
    expect(second).not.toBe(first);
    expect(second.all()).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect([...iterator]).toEqual([{ n: 2 }, { n: 3 }]);
  });

  it("keeps at most its size, evicting the least recently used", () => {
    raw = new SQLite(":memory:");
    const cached = withStatementCache(raw, 2);
    const a = cached.prepare("select 'a'");
    cached.prepare("select 'b'");
    cached.prepare("select 'a'"); // a is now the most recent
    cached.prepare("select 'c'"); // evicts b
    expect(cached.prepare("select 'a'")).toBe(a);
    const b1 = cached.prepare("select 'b'");
    expect(cached.prepare("select 'b'")).toBe(b1);
  });

  it("serves Kysely queries, transactions and streams through one database", async () => {
    opened = openDatabase(":memory:");
    const { db } = opened;
    await migrate(db);
    for (let i = 0; i < 3; i++) {
      await db
        .insertInto("security_events")
        .values({
          created_at: `t${i}`,
          last_at: `t${i}`,
          count: 1,
          type: "login",
          outcome: "failure",
          ip: "1",
          user_agent: "",
          path: "/",
          details: "{}",
        })
        .execute();
    }
    const streamed: number[] = [];
    for await (const row of db.selectFrom("security_events").select("id").orderBy("id").stream()) streamed.push(row.id);
    // The same query text again, as a plain query and inside a transaction.
    expect(await db.selectFrom("security_events").select("id").orderBy("id").execute()).toHaveLength(3);
    await db.transaction().execute(async (trx) => {
      expect(await trx.selectFrom("security_events").select("id").orderBy("id").execute()).toHaveLength(3);
    });
    expect(streamed).toEqual([1, 2, 3]);
    expect((await sql<{ n: number }>`select count(*) as n from security_events`.execute(db)).rows[0]!.n).toBe(3);
  });
});
