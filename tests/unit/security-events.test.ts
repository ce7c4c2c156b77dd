import { beforeEach, describe, expect, it } from "vitest";
import type { Db } from "~/lib/db.server";
import {
  ANONYMOUS_EVENT_BUDGET,
  COALESCE_WINDOW_MS,
  MAX_EVENT_TEXT,
  OVERFLOW_IP,
  pruneSecurityEvents,
  recordSecurityEvent,
  type SecurityEventInput,
} from "../../app/lib/security/events.server";
import { testDatabase } from "../support/kit";

let db: Db;
beforeEach(async () => {
  db = (await testDatabase()).db;
});

const T0 = Date.parse("2026-11-27T12:00:00.000Z");
const event: SecurityEventInput = {
  type: "csrf_blocked",
  outcome: "blocked",
  ip: "203.0.113.5",
  userAgent: "curl/8",
  path: "/login",
  details: { reason: "origin_mismatch" },
};

const rows = () => db.selectFrom("security_events").selectAll().orderBy("id").execute();

describe("security events", () => {
  it("records time (UTC), type, outcome, IP, user agent, path and details", async () => {
    await recordSecurityEvent(db, event, { now: T0 });
    expect(await rows()).toEqual([
      {
        id: 1,
        created_at: "2026-11-27T12:00:00.000Z",
        last_at: "2026-11-27T12:00:00.000Z",
        count: 1,
        type: "csrf_blocked",
        outcome: "blocked",
        ip: "203.0.113.5",
        user_agent: "curl/8",
        path: "/login",
        details: '{"reason":"origin_mismatch"}',
      },
    ]);
  });

  it("counts repeats from one source within a minute on one row when coalescing, so a flood cannot fill the disk", async () => {
    for (let i = 0; i < 50; i++) await recordSecurityEvent(db, event, { coalesce: true, now: T0 + i * 1000 });
    const [row, ...rest] = await rows();
    expect(rest).toEqual([]);
    expect(row).toMatchObject({
      count: 50,
      created_at: new Date(T0).toISOString(),
      last_at: new Date(T0 + 49_000).toISOString(),
    });
  });

  it("starts a new row after the window, for another client, or for another type, outcome or reason", async () => {
    await recordSecurityEvent(db, event, { coalesce: true, now: T0 });
    await recordSecurityEvent(db, event, { coalesce: true, now: T0 + COALESCE_WINDOW_MS + 1 });
    await recordSecurityEvent(db, { ...event, ip: "203.0.113.6" }, { coalesce: true, now: T0 + 1 });
    await recordSecurityEvent(db, { ...event, type: "forbidden" }, { coalesce: true, now: T0 + 1 });
    await recordSecurityEvent(db, { ...event, outcome: "failure" }, { coalesce: true, now: T0 + 1 });
    await recordSecurityEvent(db, { ...event, details: { reason: "sec_fetch_site" } }, { coalesce: true, now: T0 + 1 });
    await recordSecurityEvent(db, { ...event, details: {} }, { coalesce: true, now: T0 + 1 });
    await recordSecurityEvent(db, { ...event, details: {} }, { coalesce: true, now: T0 + 2 });
    expect((await rows()).map((r) => r.count)).toEqual([1, 1, 1, 1, 1, 1, 2]);
  });

  it("coalesces one client's events of one type whatever their path, origin, user agent or details", async () => {
    for (let i = 0; i < 40; i++) {
      await recordSecurityEvent(
        db,
        {
          ...event,
          path: `/p${i}`,
          userAgent: `agent ${i}`,
          details: { reason: "origin_mismatch", seen: `https://evil${i}.example` },
        },
        { coalesce: true, now: T0 + i * 100 },
      );
    }
    const all = await rows();
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({
      count: 40,
      path: "/p0",
      details: '{"reason":"origin_mismatch","seen":"https://evil0.example"}',
    });
  });

  it("counts an IPv6 client by its /64, so rotating addresses inside it adds no rows", async () => {
    for (let i = 1; i <= 20; i++) {
      await recordSecurityEvent(db, { ...event, ip: `2001:db8:1:2::${i.toString(16)}` }, { coalesce: true, now: T0 + i });
    }
    await recordSecurityEvent(db, { ...event, ip: "2001:db8:1:3::1" }, { coalesce: true, now: T0 + 30 });
    expect((await rows()).map((r) => [r.ip, r.count])).toEqual([
      ["2001:db8:1:2::/64", 20],
      ["2001:db8:1:3::/64", 1],
    ]);
  });

  it("spends a global budget of rows on anonymous events, then counts the rest on one overflow row per type", async () => {
    const clients = 200;
    for (let i = 0; i < clients; i++) {
      await recordSecurityEvent(db, { ...event, ip: `198.51.${i >> 8}.${i & 255}` }, { coalesce: true, now: T0 + i });
    }
    const all = await rows();
    const overflow = all.filter((r) => r.ip === OVERFLOW_IP);
    expect(all.length).toBe(ANONYMOUS_EVENT_BUDGET.rows + 1);
    expect(overflow).toHaveLength(1);
    expect(overflow[0]!.count).toBe(clients - ANONYMOUS_EVENT_BUDGET.rows);
    expect(all.reduce((n, r) => n + r.count, 0)).toBe(clients); // nothing is lost from the count
    // A later burst within the budget window still adds no rows; after it, the budget is back.
    await recordSecurityEvent(db, { ...event, ip: "192.0.2.99" }, { coalesce: true, now: T0 + 30 * 60_000 });
    expect(await rows()).toHaveLength(all.length);
    await recordSecurityEvent(
      db,
      { ...event, ip: "192.0.2.99" },
      { coalesce: true, now: T0 + ANONYMOUS_EVENT_BUDGET.windowMs + 1_000 },
    );
    expect(await rows()).toHaveLength(all.length + 1);
  });

  it("events that are not coalesced are never held back by the anonymous budget (a sign-in is always recorded)", async () => {
    for (let i = 0; i < ANONYMOUS_EVENT_BUDGET.rows + 5; i++) {
      await recordSecurityEvent(db, { ...event, ip: `198.51.100.${i}` }, { coalesce: true, now: T0 + i });
    }
    await recordSecurityEvent(db, { ...event, type: "login", outcome: "success" }, { now: T0 + 100 });
    expect(await db.selectFrom("security_events").selectAll().where("type", "=", "login").execute()).toHaveLength(1);
  });

  it("never coalesces without being asked (every sign-in attempt is its own row)", async () => {
    await recordSecurityEvent(db, event, { now: T0 });
    await recordSecurityEvent(db, event, { now: T0 + 1 });
    expect(await rows()).toHaveLength(2);
  });

  it("bounds the user agent, the path and each detail it stores to 256 characters", async () => {
    await recordSecurityEvent(
      db,
      { ...event, userAgent: "u".repeat(5000), path: `/${"p".repeat(5000)}`, details: { seen: `https://${"o".repeat(5000)}` } },
      { now: T0 },
    );
    const [row] = await rows();
    expect(row!.user_agent).toHaveLength(MAX_EVENT_TEXT);
    expect(row!.path).toHaveLength(MAX_EVENT_TEXT);
    expect((JSON.parse(row!.details) as { seen: string }).seen).toHaveLength(MAX_EVENT_TEXT);
  });

  it("prunes events older than the retention period and keeps the rest", async () => {
    const day = 86_400_000;
    await recordSecurityEvent(db, event, { now: T0 - 91 * day });
    await recordSecurityEvent(db, event, { now: T0 - 89 * day });
    await recordSecurityEvent(db, event, { now: T0 });
    expect(await pruneSecurityEvents(db, 90, T0)).toBe(1);
    expect((await rows()).map((r) => r.created_at)).toEqual([new Date(T0 - 89 * day).toISOString(), new Date(T0).toISOString()]);
  });
});
