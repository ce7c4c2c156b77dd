/**
 * Latency of the agent API's two hot routes on the production server with
 * 10 000 tasks: `GET /api/tasks?limit=50` and `POST /api/tasks`, at 1 and 32
 * concurrent connections.
 *
 *   node scripts/build.mjs && npx tsx bench/api-latency.ts [--duration 10] [--tasks 10000]
 *
 * Two measurements per cell: autocannon (its histogram counts whole
 * milliseconds) and a keep-alive node:http loop timing each request with
 * performance.now() (sub-millisecond). The database is seeded through the same
 * domain functions the API uses, before the server starts.
 */
import fs from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import path from "node:path";
import { parseArgs } from "node:util";
import { migrate, openDatabase, transaction } from "../app/lib/db.server";
import { createProject } from "../app/lib/projects/projects.server";
import { createTask } from "../app/lib/tasks/tasks.server";
import type { AuditContext } from "../app/lib/audit/log.server";
import { auditKeyFileFor, loadAuditSigner } from "../app/lib/audit/signing.server";
import { setupOwner } from "../tests/support/http";
import { runCli, startServer, tempDir } from "../tests/support/server";

const { values } = parseArgs({
  options: { duration: { type: "string", default: "10" }, tasks: { type: "string", default: "10000" } },
  strict: true,
});
const DURATION = Number(values.duration);
const TASKS = Number(values.tasks);

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}
const autocannon = createRequire(import.meta.url)("autocannon") as (
  options: { url: string; connections: number; duration: number; method: string; headers: Record<string, string>; body?: string },
  callback: (error: Error | null, result: AutocannonResult) => void,
) => unknown;

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** `connections` keep-alive loops for `seconds`, each request timed on its own. */
async function timedLoop(
  url: string,
  connections: number,
  seconds: number,
  method: string,
  headers: Record<string, string>,
  body?: string,
) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const latencies: number[] = [];
  let failures = 0;
  const deadline = performance.now() + seconds * 1000;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const started = performance.now();
      const req = http.request(url, { method, headers, agent }, (res) => {
        res.resume().on("end", () => {
          latencies.push(performance.now() - started);
          if ((res.statusCode ?? 0) >= 300) failures++;
          resolve();
        });
      });
      req.on("error", reject);
      req.end(body);
    });
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < deadline) await one();
    }),
  );
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    requests: latencies.length,
    rps: Math.round(latencies.length / seconds),
    p50: round(quantile(latencies, 0.5)),
    p99: round(quantile(latencies, 0.99)),
    failures,
  };
}

function runAutocannon(url: string, connections: number, method: string, headers: Record<string, string>, body?: string) {
  return new Promise<AutocannonResult>((resolve, reject) =>
    autocannon({ url, connections, duration: DURATION, method, headers, body }, (error, result) =>
      error ? reject(error) : resolve(result),
    ),
  );
}

const dir = tempDir("preqstation-api-latency-");
const dbPath = path.join(dir, "preqstation.db");
{
  const { db } = openDatabase(dbPath);
  await migrate(db);
  const signer = loadAuditSigner({ auditSigningKey: null, auditKeyFile: auditKeyFileFor(dbPath) }, { create: true })!;
  const audit: AuditContext = {
    actor: { type: "cli", id: "bench", label: "bench seed" },
    ip: "local",
    userAgent: "bench",
    requestId: "bench-seed",
    signer,
  };
  const ctx = { actor: audit.actor, ip: "local", userAgent: "bench", requestId: "bench-seed", path: "bench" };
  const started = Date.now();
  // One transaction for the whole seed: each command joins it.
  await transaction(db, async (trx) => {
    const deps = { db: trx, auditSigner: signer, changes: { publish: () => undefined } };
    const projects = [];
    for (const [i, key] of ["ALPHA", "BETA", "GAMMA", "DELTA"].entries()) {
      projects.push(await createProject(deps, ctx, { name: key, project_key: key, repo_url: `acme/repo${i}` }));
    }
    const statuses = ["inbox", "todo", "hold", "ready", "done"] as const;
    for (let i = 0; i < TASKS; i++) {
      await createTask(deps, ctx, {
        title: `Seeded task ${i}`,
        project_key: projects[i % projects.length]!.project_key,
        status: statuses[i % statuses.length],
        labels: [["backend"], ["ui", "bug"], [], ["infra"]][i % 4],
        acceptance_criteria: ["It works"],
      });
    }
  });
  await db.destroy();
  process.stdout.write(`seeded ${TASKS} tasks in ${Date.now() - started} ms\n`);
}

const server = await startServer({ dir, env: { API_RATE_LIMIT: "9999999/1m" } });
try {
  await setupOwner(server);
  const created = await runCli(["token", "create", "--name", "bench"], { dbPath });
  const token = created.stdout.trim();
  const auth = { Authorization: `Bearer ${token}` };
  const post = { ...auth, "Content-Type": "application/json" };
  const postBody = JSON.stringify({ title: "Benchmark task", project_key: "ALPHA", labels: ["backend"] });
  const rows: string[] = [];
  for (const [name, method, urlPath, headers, body] of [
    ["GET /api/tasks?limit=50", "GET", "/api/tasks?limit=50", auth, undefined],
    ["POST /api/tasks", "POST", "/api/tasks", post, postBody],
  ] as const) {
    for (const connections of [1, 32]) {
      const url = `${server.url}${urlPath}`;
      const loop = await timedLoop(url, connections, DURATION, method, headers, body);
      const ac = await runAutocannon(url, connections, method, headers, body);
      rows.push(
        `| ${name} | ${connections} | ${loop.p50} | ${loop.p99} | ${loop.rps} | ${ac.latency.p50} | ${ac.latency.p99} | ${Math.round(ac.requests.average)} | ${loop.failures + ac.non2xx + ac.errors} |`,
      );
      process.stdout.write(`${rows.at(-1)}\n`);
    }
  }
  process.stdout.write(
    [
      "",
      `Tasks in the database at start: ${TASKS} (POST runs add more). Node ${process.version}, ${DURATION} s per run.`,
      "| route | connections | p50 ms (timed loop) | p99 ms (timed loop) | req/s (loop) | p50 ms (autocannon) | p99 ms (autocannon) | req/s (autocannon) | non-2xx |",
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
      ...rows,
      "",
    ].join("\n"),
  );
} finally {
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true }); // this run's own directory only
}
