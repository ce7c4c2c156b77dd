/**
 * An anonymous flood of refused requests against the real production server must
 * not grow the database without bound (security pitfall 25). Each post has a foreign
 * Origin, a new path, a new Origin and a 600-byte User-Agent: the requests the outside
 * review used, which once wrote one row of several KiB each.
 */
import fs from "node:fs";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { setupOwner, signIn } from "../support/http";
import { request } from "../support/resilience";
import { startServer, type TestServer } from "../support/server";

const POSTS = 400;
const MAX_ROWS = 40;
const MAX_BYTES = 64 * 1024;

interface Footprint {
  rows: number;
  /** Bytes of the stored values themselves. */
  valueBytes: number;
  /** Bytes of the database (pages in use, WAL included) — tables and indexes. */
  fileBytes: number;
  /** Events counted, coalesced ones included. */
  events: number;
}

function footprint(dbPath: string): Footprint {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const r = db
      .prepare(
        `select count(*) as rows, coalesce(sum(count), 0) as events,
           coalesce(sum(length(cast(user_agent as blob)) + length(cast(path as blob)) + length(cast(details as blob))
             + length(cast(ip as blob)) + length(type) + length(outcome) + length(created_at) + length(last_at) + 16), 0) as valueBytes
         from security_events`,
      )
      .get() as { rows: number; events: number; valueBytes: number };
    const pages =
      (db.pragma("page_count", { simple: true }) as number) - (db.pragma("freelist_count", { simple: true }) as number);
    return { ...r, fileBytes: pages * (db.pragma("page_size", { simple: true }) as number) };
  } finally {
    db.close();
  }
}

/** Runs `n` requests with `parallel` in flight at once. */
async function flood(n: number, parallel: number, send: (i: number) => Promise<number>): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < n) {
        const i = next++;
        statuses[i] = await send(i);
      }
    }),
  );
  return statuses;
}

const crossSitePost = (server: TestServer, i: number, headers: Record<string, string> = {}) =>
  request(server, {
    method: "POST",
    path: `/flood/${i}/${"p".repeat(300)}`,
    headers: {
      Origin: `https://attacker-${i}.example`,
      "User-Agent": `${i} ${"U".repeat(600)}`.slice(0, 600),
      "Content-Type": "application/x-www-form-urlencoded",
      ...headers,
    },
    body: "a=1",
  }).then((r) => r.status);

describe("a flood of anonymous refused requests", () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.stop("SIGKILL");
    if (server?.dir) fs.rmSync(server.dir, { recursive: true, force: true });
    server = undefined;
  });

  it.each([
    ["one address", {}],
    ["a new address for every request behind a proxy (TRUST_PROXY=true)", { TRUST_PROXY: "true" }],
  ])(
    `400 cross-site posts from %s add at most ${MAX_ROWS} rows and under 64 KiB, and every one is counted`,
    async (_name, env: Record<string, string>) => {
      server = await startServer({ env });
      await setupOwner(server);
      const s = server;
      const before = footprint(s.dbPath);

      const started = performance.now();
      const statuses = await flood(POSTS, 8, (i) =>
        crossSitePost(s, i, env.TRUST_PROXY ? { "X-Forwarded-For": `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` } : {}),
      );
      const ms = performance.now() - started;
      expect(statuses.every((st) => st === 403)).toBe(true);

      const after = footprint(s.dbPath);
      const added = {
        rows: after.rows - before.rows,
        valueBytes: after.valueBytes - before.valueBytes,
        fileBytes: after.fileBytes - before.fileBytes,
        events: after.events - before.events,
      };
      console.log(`flood from ${_name}: ${POSTS} posts in ${Math.round(ms)} ms added ${JSON.stringify(added)}`);
      expect(added.events).toBe(POSTS); // coalesced, never dropped: the counts add up to every request
      expect(added.rows).toBeLessThanOrEqual(MAX_ROWS);
      expect(added.valueBytes).toBeLessThan(MAX_BYTES);
      expect(added.fileBytes).toBeLessThan(MAX_BYTES);

      // Nothing stored is longer than 256 characters.
      const db = new Database(s.dbPath, { readonly: true });
      const longest = db
        .prepare("select max(max(length(user_agent), length(path))) as n from security_events where type = 'csrf_blocked'")
        .get() as { n: number };
      const longestDetail = db.prepare("select details from security_events where type = 'csrf_blocked'").all() as Array<{
        details: string;
      }>;
      db.close();
      expect(longest.n).toBeLessThanOrEqual(256);
      for (const { details } of longestDetail) {
        for (const v of Object.values(JSON.parse(details) as Record<string, unknown>)) {
          if (typeof v === "string") expect(v.length).toBeLessThanOrEqual(256);
        }
      }

      // The server still answers, and the owner's own sign-in is still recorded as its own row.
      expect((await request(s, { path: "/api/health" })).status).toBe(200);
      await signIn(s);
      const check = new Database(s.dbPath, { readonly: true });
      const signIns = check
        .prepare("select count(*) as n from security_events where type = 'login' and outcome = 'success'")
        .get() as { n: number };
      check.close();
      expect(signIns.n).toBe(1);
    },
  );
});
