import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { migrate, openDatabase, type Db } from "~/lib/db.server";
import { COALESCE_WINDOW_MS, recordSecurityEvent, type SecurityEventInput } from "~/lib/security-events.server";

let db: Db;
beforeEach(async () => {
  db = openDatabase(":memory:").db;
  await migrate(db);
});
afterEach(async () => {
  await db.destroy();
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
    expect(row).toMatchObject({ count: 50, created_at: new Date(T0).toISOString(), last_at: new Date(T0 + 49_000).toISOString() });
  });

  it("starts a new row after the window, or for another IP, path or detail", async () => {
    await recordSecurityEvent(db, event, { coalesce: true, now: T0 });
    await recordSecurityEvent(db, event, { coalesce: true, now: T0 + COALESCE_WINDOW_MS + 1 });
    await recordSecurityEvent(db, { ...event, ip: "203.0.113.6" }, { coalesce: true, now: T0 + 1 });
    await recordSecurityEvent(db, { ...event, path: "/logout" }, { coalesce: true, now: T0 + 1 });
    await recordSecurityEvent(db, { ...event, details: { reason: "sec_fetch_site" } }, { coalesce: true, now: T0 + 1 });
    expect((await rows()).map((r) => r.count)).toEqual([1, 1, 1, 1, 1]);
  });

  it("never coalesces without being asked (every sign-in attempt is its own row)", async () => {
    await recordSecurityEvent(db, event, { now: T0 });
    await recordSecurityEvent(db, event, { now: T0 + 1 });
    expect(await rows()).toHaveLength(2);
  });

  it("bounds the user agent and path it stores", async () => {
    await recordSecurityEvent(db, { ...event, userAgent: "u".repeat(5000), path: `/${"p".repeat(5000)}` }, { now: T0 });
    const [row] = await rows();
    expect(row!.user_agent).toHaveLength(512);
    expect(row!.path).toHaveLength(512);
  });
});
