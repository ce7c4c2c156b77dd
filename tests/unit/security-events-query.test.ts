import { beforeEach, describe, expect, it } from "vitest";
import type { OpenedDatabase } from "~/lib/db.server";
import { recordSecurityEvent } from "../../app/lib/security/events.server";
import {
  countRecentProblems,
  listSecurityEventPage,
  parseSecurityEventFilters,
  type SecurityEventFilters,
} from "../../app/lib/security/events-query.server";
import { testDatabase } from "../support/kit";

const T0 = Date.parse("2026-11-20T00:00:00.000Z");

function parsed(query: string): SecurityEventFilters {
  const result = parseSecurityEventFilters(new URLSearchParams(query));
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.filters;
}

describe("parseSecurityEventFilters", () => {
  it("accepts the documented filters and a cursor it issued", () => {
    expect(parsed("type=login&outcome=failure&from=2026-11-01&to=2026-11-01&cursor=after-2026-11-01T10:00:00.000Z_42")).toEqual({
      type: "login",
      outcome: "failure",
      createdAt: { gte: "2026-11-01T00:00:00.000Z", lt: "2026-11-02T00:00:00.000Z" },
      cursor: { direction: "after", createdAt: "2026-11-01T10:00:00.000Z", id: 42 },
    });
  });

  it("reports unknown types, outcomes, dates and cursors per field", () => {
    const r = parseSecurityEventFilters(new URLSearchParams("type=drop table&outcome=meh&to=31/12/2026&cursor=before-1_1"));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(Object.keys(r.errors).sort()).toEqual(["cursor", "outcome", "to", "type"]);
  });
});

describe("listSecurityEventPage", () => {
  let opened: OpenedDatabase;
  beforeEach(async () => {
    opened = await testDatabase();
    // 3 events per timestamp, so the id must break ties correctly across page boundaries.
    for (let i = 0; i < 30; i++) {
      await recordSecurityEvent(
        opened.db,
        {
          type: i % 2 ? "login" : "bearer_auth",
          outcome: i % 5 ? "failure" : "success",
          ip: "192.0.2.1",
          userAgent: "t",
          path: "/x",
          details: { i },
        },
        { now: T0 + Math.floor(i / 3) * 60_000 },
      );
    }
  });

  const ids = (events: { id: number }[]) => events.map((e) => e.id);

  it("walks every event once, newest first, and back again, across equal timestamps", async () => {
    const pages: number[][] = [];
    let page = await listSecurityEventPage(opened.db, parsed(""), 4);
    pages.push(ids(page.events));
    while (page.olderCursor) {
      page = await listSecurityEventPage(opened.db, parsed(`cursor=${page.olderCursor}`), 4);
      pages.push(ids(page.events));
    }
    expect(pages.flat()).toEqual(Array.from({ length: 30 }, (_, i) => 30 - i));
    const back: number[][] = [pages.at(-1)!];
    while (page.newerCursor) {
      page = await listSecurityEventPage(opened.db, parsed(`cursor=${page.newerCursor}`), 4);
      back.unshift(ids(page.events));
    }
    expect(back).toEqual(pages);
  });

  it("pages a date range forward and back without losing or repeating an event", async () => {
    // Events 6..26 fall in [T0+2m, T0+8m]: timestamps are T0 + floor(i/3) minutes.
    const q = `from=${new Date(T0 + 2 * 60_000).toISOString()}&to=${new Date(T0 + 8 * 60_000).toISOString()}`;
    const pages: number[][] = [];
    let page = await listSecurityEventPage(opened.db, parsed(q), 4);
    pages.push(ids(page.events));
    while (page.olderCursor) {
      page = await listSecurityEventPage(opened.db, parsed(`${q}&cursor=${page.olderCursor}`), 4);
      pages.push(ids(page.events));
    }
    expect(pages.flat()).toEqual(Array.from({ length: 21 }, (_, i) => 27 - i));
    const back: number[][] = [pages.at(-1)!];
    while (page.newerCursor) {
      page = await listSecurityEventPage(opened.db, parsed(`${q}&cursor=${page.newerCursor}`), 4);
      back.unshift(ids(page.events));
    }
    expect(back).toEqual(pages);
  });

  it("filters by type and outcome together", async () => {
    const page = await listSecurityEventPage(opened.db, parsed("type=login&outcome=success"));
    expect(page.events.map((e) => e.details)).toEqual([{ i: 25 }, { i: 15 }, { i: 5 }].map((d) => JSON.stringify(d)));
  });
});

describe("countRecentProblems", () => {
  it("counts failed and blocked events of the last 24 hours, coalesced repeats included", async () => {
    const { db } = await testDatabase();
    const now = T0;
    const ev = { ip: "192.0.2.9", userAgent: "x", path: "/login" };
    await recordSecurityEvent(db, { ...ev, type: "login", outcome: "failure" }, { now: now - 1000 });
    for (let i = 0; i < 4; i++)
      await recordSecurityEvent(db, { ...ev, type: "rate_limited", outcome: "blocked" }, { now: now - 5000 + i, coalesce: true });
    await recordSecurityEvent(db, { ...ev, type: "login", outcome: "success" }, { now });
    await recordSecurityEvent(db, { ...ev, type: "login", outcome: "failure" }, { now: now - 25 * 3_600_000 });
    expect(await countRecentProblems(db, now)).toEqual({
      failure: 1,
      blocked: 4,
      since: new Date(now - 86_400_000).toISOString(),
    });
  });
});
