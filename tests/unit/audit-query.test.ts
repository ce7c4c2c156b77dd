import { Kysely, SqliteDialect } from "kysely";
import { beforeEach, describe, expect, it } from "vitest";
import { type AuditContext } from "../../app/lib/audit/log.server";
import {
  describeChanges,
  iterateAuditEntries,
  listActorTokens,
  listAuditPage,
  parseAuditFilters,
  type AuditFilters,
} from "../../app/lib/audit/query.server";
import { dateBounds } from "../../app/lib/domain/list-query";
import type { OpenedDatabase } from "~/lib/db.server";
import type { Database } from "../../db/schema";
import { testAuditSigner } from "../support/audit-key";
import { auditInTransaction, testDatabase } from "../support/kit";

const T0 = Date.parse("2026-11-10T08:00:00.000Z");
const HOUR = 3_600_000;

const ctx = (type: AuditContext["actor"]["type"], id: string): AuditContext => ({
  actor: { type, id, label: `${type}-${id}` },
  ip: "192.0.2.1",
  userAgent: "test",
  requestId: "req",
  signer: testAuditSigner,
});

function parsed(query: string): AuditFilters {
  const result = parseAuditFilters(new URLSearchParams(query));
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.filters;
}

describe("parseAuditFilters", () => {
  it("accepts every documented filter and ignores blanks and unknown parameters", () => {
    const f = parsed(
      "actor=token:12&action=task.update&resource_type=task&resource_id=PROJ-1&from=2026-11-01&to=2026-11-02&cursor=before-99&format=csv&verify=1&to=ignored-second",
    );
    expect(f).toEqual({
      actor: { type: "token", id: "12" },
      action: "task.update",
      resourceType: "task",
      resourceId: "PROJ-1",
      createdAt: { gte: "2026-11-01T00:00:00.000Z", lt: "2026-11-03T00:00:00.000Z" },
      cursor: { direction: "before", seq: 99 },
    });
    expect(parsed("actor=&action=%20%20&from=")).toEqual({ createdAt: {} });
    expect(parsed("actor=owner").actor).toEqual({ type: "owner" });
    expect(parsed("actor=cli").actor).toEqual({ type: "cli" });
  });

  it("reports each invalid value on its own field instead of throwing", () => {
    const result = parseAuditFilters(new URLSearchParams("actor=token:0&from=2026-02-30&cursor=sideways-3&action=a%20b"));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(Object.keys(result.errors).sort()).toEqual(["action", "actor", "cursor", "from"]);
    expect(result.values.actor).toBe("token:0");
  });

  it("refuses a range whose end is before its start, but accepts a single day", () => {
    expect(parseAuditFilters(new URLSearchParams("from=2026-11-02&to=2026-11-01")).ok).toBe(false);
    expect(parsed("from=2026-11-02&to=2026-11-02").createdAt).toEqual({
      gte: "2026-11-02T00:00:00.000Z",
      lt: "2026-11-03T00:00:00.000Z",
    });
  });
});

describe("dateBounds", () => {
  it("makes `to` inclusive of its whole UTC day, or of the exact instant when a time is given", () => {
    expect(dateBounds(undefined, "2026-12-31")).toEqual({ lt: "2027-01-01T00:00:00.000Z" });
    expect(dateBounds("2026-11-27T10:00:00+02:00", "2026-11-27T10:30:00Z")).toEqual({
      gte: "2026-11-27T08:00:00.000Z",
      lte: "2026-11-27T10:30:00.000Z",
    });
  });
});

describe("listAuditPage and iterateAuditEntries", () => {
  let opened: OpenedDatabase;
  beforeEach(async () => {
    opened = await testDatabase();
    for (let i = 0; i < 23; i++) {
      const actor = i % 3 === 0 ? ctx("token", "7") : i % 3 === 1 ? ctx("owner", "o") : ctx("cli", "cli");
      await auditInTransaction(
        opened.db,
        actor,
        { action: i % 2 ? "task.update" : "task.create", resourceType: "task", resourceId: `T-${i % 4}`, changes: {} },
        T0 + i * HOUR,
      );
    }
  });

  const seqs = (entries: { seq: number }[]) => entries.map((e) => e.seq);

  it("walks every entry exactly once, newest first, forward and back", async () => {
    const pages: number[][] = [];
    let page = await listAuditPage(opened.db, parsed(""), 5);
    expect(page.newerCursor).toBeNull();
    pages.push(seqs(page.entries));
    while (page.olderCursor) {
      page = await listAuditPage(opened.db, parsed(`cursor=${page.olderCursor}`), 5);
      pages.push(seqs(page.entries));
    }
    expect(pages.flat()).toEqual(Array.from({ length: 23 }, (_, i) => 23 - i));
    expect(pages.map((p) => p.length)).toEqual([5, 5, 5, 5, 3]);

    const back: number[][] = [pages.at(-1)!];
    while (page.newerCursor) {
      page = await listAuditPage(opened.db, parsed(`cursor=${page.newerCursor}`), 5);
      back.unshift(seqs(page.entries));
    }
    expect(back).toEqual(pages);
  });

  it("says there is no older page when the last page is exactly full", async () => {
    const page = await listAuditPage(opened.db, parsed("cursor=before-11"), 10);
    expect(seqs(page.entries)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(page.olderCursor).toBeNull();
    expect(page.newerCursor).toBe("after-10");
  });

  it("applies the filters together", async () => {
    const page = await listAuditPage(opened.db, parsed("actor=token:7&action=task.update"));
    const expected = Array.from({ length: 23 }, (_, i) => i)
      .filter((i) => i % 3 === 0 && i % 2 === 1)
      .map((i) => i + 1)
      .reverse();
    expect(seqs(page.entries)).toEqual(expected);
    const byDay = await listAuditPage(opened.db, parsed("from=2026-11-10T12:00:00Z&to=2026-11-10T14:00:00Z"));
    expect(seqs(byDay.entries)).toEqual([7, 6, 5]);
    const byResource = await listAuditPage(opened.db, parsed("resource_id=T-1"));
    expect(byResource.entries.every((e) => e.resource_id === "T-1")).toBe(true);
    expect(byResource.entries).toHaveLength(6);
  });

  it("pages a date range forward and back in (created_at, seq) order, exact even if the clock stepped back", async () => {
    // An entry written with a clock that went back an hour: seq 24 is older than seq 23 by time.
    await auditInTransaction(
      opened.db,
      ctx("owner", "o"),
      { action: "task.update", resourceType: "task", resourceId: "T-9", changes: {} },
      T0 + 21 * HOUR + 1,
    );
    const q = "from=2026-11-10T10:00:00Z&to=2026-11-11T06:00:00Z";
    const pages: number[][] = [];
    let page = await listAuditPage(opened.db, parsed(q), 4);
    pages.push(seqs(page.entries));
    while (page.olderCursor) {
      page = await listAuditPage(opened.db, parsed(`${q}&cursor=${page.olderCursor}`), 4);
      pages.push(seqs(page.entries));
    }
    expect(pages.flat()).toEqual([23, 24, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3]);
    const back: number[][] = [pages.at(-1)!];
    while (page.newerCursor) {
      page = await listAuditPage(opened.db, parsed(`${q}&cursor=${page.newerCursor}`), 4);
      back.unshift(seqs(page.entries));
    }
    expect(back).toEqual(pages);
    const exported: number[] = [];
    for await (const chunk of iterateAuditEntries(opened.db, parsed(q), 5)) exported.push(...seqs(chunk));
    expect(exported).toEqual(pages.flat());
  });

  it("answers a cursor past either end with an empty page and no links", async () => {
    expect(await listAuditPage(opened.db, parsed("cursor=before-1"))).toEqual({
      entries: [],
      newerCursor: null,
      olderCursor: null,
    });
    expect(await listAuditPage(opened.db, parsed("cursor=after-23"))).toEqual({
      entries: [],
      newerCursor: null,
      olderCursor: null,
    });
  });

  it("streams the filtered set in chunks, newest first, ignoring the cursor", async () => {
    const chunks: number[][] = [];
    for await (const chunk of iterateAuditEntries(
      opened.db,
      { ...parsed("actor=owner"), cursor: { direction: "before", seq: 3 } },
      3,
    )) {
      chunks.push(seqs(chunk));
    }
    expect(chunks.map((c) => c.length)).toEqual([3, 3, 2]);
    expect(chunks.flat()).toEqual([23, 20, 17, 14, 11, 8, 5, 2]);
  });

  it("reads every filtered page through an index in the list order (no temporary sort, no table scan)", async () => {
    // Capture the SQL that listAuditPage really runs, then ask SQLite for its plan.
    const seen: { sql: string; parameters: readonly unknown[] }[] = [];
    const logged = new Kysely<Database>({
      dialect: new SqliteDialect({ database: opened.sqlite }),
      log: (event) => {
        if (event.level === "query") seen.push({ sql: event.query.sql, parameters: event.query.parameters });
      },
    });
    const queries = [
      "actor=owner",
      "actor=token:7",
      "action=task.update",
      "resource_type=task",
      "resource_id=T-1",
      "resource_type=task&resource_id=T-1",
      "actor=cli&cursor=before-20",
      "from=2026-11-10",
      "to=2026-11-10",
      "from=2026-11-10T10:00:00Z&to=2026-11-10T20:00:00Z&cursor=after-12",
      "actor=token:7&from=2026-11-10&cursor=before-20",
    ];
    for (const q of queries) {
      seen.length = 0;
      await listAuditPage(logged, parsed(q), 2);
      expect(seen.length, q).toBeGreaterThan(0);
      for (const { sql, parameters } of seen) {
        const plan = opened.sqlite.prepare(`explain query plan ${sql}`).all(...(parameters as unknown[])) as { detail: string }[];
        const text = plan.map((p) => p.detail).join(" | ");
        // An index, or the primary key for the cursor's boundary entry.
        expect(text, q).toMatch(/USING (COVERING )?INDEX audit_log_|USING INTEGER PRIMARY KEY \(rowid=\?\)/);
        expect(text, q).not.toMatch(/TEMP B-TREE/);
      }
    }
  });
});

describe("listActorTokens", () => {
  it("lists tokens newest first, revoked ones included", async () => {
    const { db } = await testDatabase();
    const base = { owner_id: "o", scope: "full" as const, created_at: "2026-11-01T00:00:00.000Z" };
    await db
      .insertInto("api_tokens")
      .values([
        { ...base, name: "a", token_hash: "h1", hint: "preq_a…1", revoked_at: null },
        { ...base, name: "b", token_hash: "h2", hint: "preq_b…2", revoked_at: "2026-11-02T00:00:00.000Z" },
      ])
      .execute();
    expect(await listActorTokens(db)).toEqual([
      { id: 2, name: "b", hint: "preq_b…2", revoked: true },
      { id: 1, name: "a", hint: "preq_a…1", revoked: false },
    ]);
  });
});

describe("describeChanges", () => {
  it("shows before and after as JSON so strings, numbers and null never look alike", () => {
    expect(
      describeChanges(JSON.stringify({ title: { before: "1", after: 1 }, gone: { before: null, after: undefined } })),
    ).toEqual([
      { field: "title", before: '"1"', after: "1" },
      { field: "gone", before: "null", after: "—" },
    ]);
  });

  it("returns null for anything that is not an object of changes", () => {
    expect(describeChanges("not json")).toBeNull();
    expect(describeChanges("[1,2]")).toBeNull();
    expect(describeChanges("null")).toBeNull();
  });
});
