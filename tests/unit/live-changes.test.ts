import { Kysely, SqliteDialect } from "kysely";
import { beforeEach, describe, expect, it } from "vitest";
import type { Database, Session } from "../../db/schema";
import type { OpenedDatabase } from "~/lib/db.server";
import { createChangeHub } from "~/lib/live/changes.server";
import { changeStream } from "~/lib/http/change-stream.server";
import { testDatabase } from "../support/kit";

let opened: OpenedDatabase;
/** The same database through a Kysely that counts every query it runs. */
let counted: Kysely<Database>;
let queries: string[];

const HOUR = 3_600_000;
const session = (idHash: string, expiresInMs = HOUR): Session => {
  const now = Date.now();
  return {
    id_hash: idHash,
    public_id: "p",
    owner_id: "o",
    created_at: new Date(now).toISOString(),
    last_seen_at: new Date(now).toISOString(),
    idle_expires_at: new Date(now + expiresInMs).toISOString(),
    absolute_expires_at: new Date(now + 24 * HOUR).toISOString(),
    ip: "127.0.0.1",
    user_agent: "test",
  };
};

beforeEach(async () => {
  opened = await testDatabase({ file: true });
  const now = new Date().toISOString();
  await opened.db
    .insertInto("owners")
    .values({ id: "o", singleton: 1, email: "o@example.com", password_hash: "x", created_at: now, updated_at: now })
    .execute();
  await opened.db.insertInto("sessions").values(session("live")).execute();
  queries = [];
  counted = new Kysely<Database>({
    dialect: new SqliteDialect({ database: opened.sqlite }),
    log: (event) => void queries.push(event.query.sql),
  });
});

/** Reads a stream's text as it arrives. */
function collect(response: Response) {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const state = { text: "", done: false };
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      state.text += decoder.decode(value);
    }
    state.done = true;
  })();
  return state;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the change hub", () => {
  it("coalesces a burst of publishes into one call per listener", async () => {
    const hub = createChangeHub({ coalesceMs: 20 });
    let calls = 0;
    hub.subscribe(() => calls++);
    for (let i = 0; i < 10; i++) hub.publish();
    await sleep(60);
    expect(calls).toBe(1);
    hub.publish();
    await sleep(60);
    expect(calls).toBe(2);
  });

  it("stops calling a listener once it unsubscribes, and close ends everything", async () => {
    const hub = createChangeHub({ coalesceMs: 1 });
    let calls = 0;
    const off = hub.subscribe(() => calls++);
    let closed = 0;
    hub.onClose(() => closed++);
    off();
    hub.publish();
    await sleep(20);
    expect(calls).toBe(0);
    hub.subscribe(() => calls++);
    hub.close();
    hub.publish();
    await sleep(20);
    expect(calls).toBe(0);
    expect(closed).toBe(1);
    expect(hub.size).toBe(0);
  });
});

describe("the live stream", () => {
  it("costs no database query while idle: heartbeats only", async () => {
    const hub = createChangeHub({ coalesceMs: 1 });
    const controller = new AbortController();
    const res = changeStream({ db: counted, hub, session: session("live"), signal: controller.signal, heartbeatMs: 20 });
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const seen = collect(res);
    await sleep(250);
    expect(seen.text.match(/: keep-alive/g)?.length ?? 0).toBeGreaterThanOrEqual(5);
    expect(queries).toEqual([]);
    controller.abort();
    await sleep(10);
    expect(seen.done).toBe(true);
    expect(hub.size).toBe(0);
  });

  it("passes a change on after checking the session once", async () => {
    const hub = createChangeHub({ coalesceMs: 1 });
    const seen = collect(changeStream({ db: counted, hub, session: session("live"), signal: new AbortController().signal }));
    hub.publish();
    await sleep(50);
    expect(seen.text).toContain("event: change\ndata: {}\n\n");
    expect(queries).toHaveLength(1);
    expect(queries[0]).toMatch(/from "sessions"/);
    hub.close();
    await sleep(10);
    expect(seen.done).toBe(true);
  });

  it("ends instead of passing a change on when the session is gone (signed out or revoked)", async () => {
    const hub = createChangeHub({ coalesceMs: 1 });
    const seen = collect(changeStream({ db: counted, hub, session: session("live"), signal: new AbortController().signal }));
    await opened.db.deleteFrom("sessions").execute();
    hub.publish();
    await sleep(50);
    expect(seen.text).not.toContain("event: change");
    expect(seen.done).toBe(true);
    expect(hub.size).toBe(0);
  });

  it("answers 503 instead of a stream once the hub is full", async () => {
    const hub = createChangeHub({ maxListeners: 1 });
    const first = changeStream({ db: counted, hub, session: session("live"), signal: new AbortController().signal });
    expect(first.status).toBe(200);
    collect(first);
    const second = changeStream({ db: counted, hub, session: session("live"), signal: new AbortController().signal });
    expect(second.status).toBe(503);
    expect(second.headers.get("retry-after")).toBe("30");
    hub.close();
  });

  it("ends when the session would expire", async () => {
    const hub = createChangeHub();
    const seen = collect(changeStream({ db: counted, hub, session: session("live", 50), signal: new AbortController().signal }));
    await sleep(120);
    expect(seen.done).toBe(true);
    expect(queries).toEqual([]);
  });
});
