/**
 * Server time of the console's audit log with a large log (issue 5's closing note).
 *
 *   npx tsx bench/audit-page.ts [--count 1000000] [--db existing.db] [--runs 5]
 *
 * Seeds a temporary database with N synthetic, correctly chained entries (or uses
 * --db, topping it up to N), starts the production server on it with
 * LOG_LEVEL=debug, signs in, and times: the first page, filtered pages, a page
 * ~2,000 pages deep (by its keyset cursor, exactly what following "Next page"
 * 2,000 times ends with), the previous-page direction, a full CSV and NDJSON
 * export, and the chain verification. "Server" is the time the server logs for
 * the request (handler start to response headers; for the exports, the body is
 * streamed after that, so the client's time to the last byte is the one to read).
 */
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { seedAuditLog } from "./lib/audit-seed";
import { auditKeyFileFor, loadAuditSigner } from "../app/lib/audit/signing.server";
import { migrate, openDatabase } from "../app/lib/db.server";
import { getPage, setupOwner } from "../tests/support/http";
import { startServer, tempDir } from "../tests/support/server";

const { values } = parseArgs({
  options: { count: { type: "string", default: "1000000" }, db: { type: "string" }, runs: { type: "string", default: "5" } },
});
const count = Number(values.count);
const runs = Number(values.runs);

const dir = tempDir("preqstation-bench-audit-");
const dbPath = path.join(dir, "preqstation.db");
if (values.db) {
  fs.copyFileSync(values.db, dbPath);
  // Its signatures verify only with its own key.
  if (fs.existsSync(auditKeyFileFor(values.db))) fs.copyFileSync(auditKeyFileFor(values.db), auditKeyFileFor(dbPath));
}

{
  const { db, sqlite } = openDatabase(dbPath);
  await migrate(db);
  const have = (sqlite.prepare("select count(*) as n from audit_log").get() as { n: number }).n;
  if (have < count) {
    process.stderr.write(`seeding ${count - have} entries…\n`);
    const signer = loadAuditSigner({ auditSigningKey: null, auditKeyFile: auditKeyFileFor(dbPath) }, { create: true })!;
    const r = seedAuditLog(sqlite, { count: count - have, signer });
    process.stderr.write(`seeded ${r.count} in ${(r.ms / 1000).toFixed(1)} s\n`);
  }
  sqlite.pragma("wal_checkpoint(TRUNCATE)");
  await db.destroy();
}

const server = await startServer({ dir, env: { LOG_LEVEL: "debug" }, timeoutMs: 60_000 });
try {
  const cookie = await setupOwner(server);
  const maxSeq = await (async () => {
    const { db } = openDatabase(dbPath);
    const row = await db
      .selectFrom("audit_log")
      .select((eb) => eb.fn.max("seq").as("m"))
      .executeTakeFirstOrThrow();
    await db.destroy();
    return Number(row.m);
  })();
  const deep = maxSeq - 2_000 * 50;

  /** The ms the server logged for this request id. */
  function serverMs(requestId: string): number {
    for (const line of server.output().split("\n").reverse()) {
      if (line.includes(requestId) && line.includes('"msg":"request"')) return JSON.parse(line).ms;
    }
    return NaN;
  }

  async function time(label: string, url: string) {
    const serverTimes: number[] = [];
    const clientTimes: number[] = [];
    let bytes = 0;
    let status = 0;
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      const res = await getPage(server, url, cookie);
      const body = await res.arrayBuffer();
      clientTimes.push(performance.now() - t);
      bytes = body.byteLength;
      status = res.status;
      await new Promise((r) => setTimeout(r, 20)); // let the log line arrive
      serverTimes.push(serverMs(res.headers.get("x-request-id")!));
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    rows.push({ label, url, status, server: med(serverTimes), client: med(clientTimes), bytes });
    process.stderr.write(
      `${label}: ${status} server ${med(serverTimes).toFixed(1)} ms, client ${med(clientTimes).toFixed(1)} ms\n`,
    );
  }
  const rows: { label: string; url: string; status: number; server: number; client: number; bytes: number }[] = [];

  await time("first page", "/settings/audit-logs");
  await time("filtered: one token", "/settings/audit-logs?actor=token:902");
  await time("filtered: owner", "/settings/audit-logs?actor=owner");
  await time("filtered: action", "/settings/audit-logs?action=task.delete");
  await time("filtered: resource id", "/settings/audit-logs?resource_type=task&resource_id=SEED-42");
  await time("filtered: one day", `/settings/audit-logs?from=2026-11-20&to=2026-11-20`);
  await time("page ~2,000 deep", `/settings/audit-logs?cursor=before-${deep}`);
  await time("page ~2,000 deep, previous direction", `/settings/audit-logs?cursor=after-${deep}`);
  await time("filtered (token) deep", `/settings/audit-logs?actor=token:902&cursor=before-${Math.floor(maxSeq / 10)}`);
  /** Resident memory of the server process now, and its peak so far (Linux). */
  const memory = () => {
    try {
      const status = fs.readFileSync(`/proc/${server.child.pid}/status`, "utf8");
      const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
      return { rssMb: Math.round(kb("VmRSS") / 1024), peakMb: Math.round(kb("VmHWM") / 1024) };
    } catch {
      return null;
    }
  };
  const beforeExport = memory();
  await time("full CSV export", "/settings/audit-logs/export?format=csv");
  await time("full NDJSON export", "/settings/audit-logs/export?format=ndjson");
  const afterExport = memory();
  await time("verify chain", "/settings/audit-logs?verify=1");

  process.stdout.write(`\n${maxSeq.toLocaleString("en")} audit entries, median of ${runs} runs\n\n`);
  process.stdout.write(
    "| request | status | server (ms) | client, last byte (ms) | body |\n| --- | --- | ---: | ---: | ---: |\n",
  );
  for (const r of rows) {
    process.stdout.write(
      `| ${r.label} | ${r.status} | ${r.server.toFixed(1)} | ${r.client.toFixed(1)} | ${(r.bytes / 1024).toFixed(0)} KiB |\n`,
    );
  }
  if (beforeExport && afterExport) {
    process.stdout.write(
      `\nServer memory: ${beforeExport.rssMb} MiB resident before the exports (peak ${beforeExport.peakMb} MiB), ` +
        `peak ${afterExport.peakMb} MiB after ${runs} full CSV and ${runs} full NDJSON exports.\n`,
    );
  }
} finally {
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
