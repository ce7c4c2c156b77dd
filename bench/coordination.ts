/**
 * `next` under contention (contract §11), beside a plain PATCH lifecycle write, on the
 * production server (build it first: `node scripts/build.mjs`):
 *
 *   npx tsx bench/coordination.ts [--tasks 1000] [--connections 32] [--rounds 3]
 *
 * Each round adds `tasks` ready tasks (todo, mixed priorities) in a project of their
 * own, then `connections` workers call `POST /api/tasks/next` for that project (each
 * with its own token: distinct agents) until every one has had a 204. It checks that
 * every task was handed out exactly once, and reports claims per second (tasks claimed
 * over the wall time until the last claim) and the latency p50/p99 of the claims. Then
 * the same workers PATCH `lifecycle_action: "block"` once on each of another `tasks`
 * todo tasks (a plain versioned lifecycle write with its audit entry), for comparison.
 * The medians over the rounds go to bench/results/coordination.json.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { ROOT, spawnServer } from "./lib/proc";
import { seedBenchDatabase } from "./seed";
import { median, quantile, round } from "./lib/stats";

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const TASKS = option("tasks", 1000);
const CONNECTIONS = option("connections", 32);
const ROUNDS = option("rounds", 3);
const PRIORITIES = ["highest", "high", "medium", "low", "lowest", "none"];

interface Phase {
  ops: number;
  ms: number;
  perSecond: number;
  p50: number;
  p99: number;
}

function phase(latencies: number[], ms: number): Phase {
  return {
    ops: latencies.length,
    ms: round(ms),
    perSecond: round((latencies.length / ms) * 1000),
    p50: round(quantile(latencies, 0.5), 1),
    p99: round(quantile(latencies, 0.99), 1),
  };
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preq-bench-coord-"));
  const dbPath = path.join(dir, "bench.db");
  const seeded = await seedBenchDatabase(dbPath, { tasks: 0, auditEntries: 0 });
  // One token per worker: `next` is measured with distinct agents contending.
  const tokens: string[] = [];
  for (let i = 0; i < CONNECTIONS; i += 1) {
    const made = spawnSync(
      process.execPath,
      [path.join(ROOT, "bin/preqstation.mjs"), "token", "create", "--name", `worker-${i}`],
      {
        env: { ...process.env, DATABASE_PATH: dbPath },
        encoding: "utf8",
      },
    );
    if (made.status !== 0) throw new Error(`token create failed: ${made.stderr}`);
    tokens.push(made.stdout.trim());
  }
  const server = await spawnServer("preqstation", [path.join(ROOT, "build/node/server.js")], {
    DATABASE_PATH: dbPath,
    LOG_LEVEL: "warn",
    API_RATE_LIMIT: "9999999/1m",
  });
  const call = async (token: string, method: string, url: string, body?: unknown) => {
    const res = await fetch(server.url + url, {
      method,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as { task: { task_key: string } }) : null };
  };
  const seed = async (projectKey: string) => {
    const made = await call(seeded.token, "POST", "/api/projects", { name: `Bench ${projectKey}`, project_key: projectKey });
    if (made.status !== 201) throw new Error(`project ${projectKey}: ${made.status}`);
    const keys: string[] = [];
    let i = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (i < TASKS) {
          const n = i++;
          const res = await call(seeded.token, "POST", "/api/tasks", {
            title: `Task ${n}`,
            project_key: projectKey,
            status: "todo",
            priority: PRIORITIES[n % PRIORITIES.length],
          });
          if (res.status !== 201) throw new Error(`create: ${res.status}`);
          keys.push(res.json!.task.task_key);
        }
      }),
    );
    return keys;
  };

  const rounds: { next: Phase; patch: Phase }[] = [];
  try {
    for (let r = 0; r < ROUNDS; r += 1) {
      const queue = await seed(`N${r}`);
      const claimed: string[] = [];
      const nextLatencies: number[] = [];
      let lastClaim = 0;
      const started = performance.now();
      await Promise.all(
        tokens.map(async (token) => {
          for (;;) {
            const t0 = performance.now();
            const res = await call(token, "POST", "/api/tasks/next", { project_key: `N${r}`, lease_seconds: 600 });
            const t1 = performance.now();
            if (res.status === 204) return;
            if (res.status !== 200) throw new Error(`next: ${res.status}`);
            nextLatencies.push(t1 - t0);
            claimed.push(res.json!.task.task_key);
            lastClaim = t1;
          }
        }),
      );
      if (claimed.length !== queue.length || new Set(claimed).size !== queue.length) {
        throw new Error(`next handed out ${claimed.length} claims for ${queue.length} tasks (${new Set(claimed).size} distinct)`);
      }
      const next = phase(nextLatencies, lastClaim - started);

      const targets = await seed(`P${r}`);
      const patchLatencies: number[] = [];
      let j = 0;
      const patchStarted = performance.now();
      await Promise.all(
        tokens.map(async (token) => {
          while (j < targets.length) {
            const key = targets[j++]!;
            const t0 = performance.now();
            const res = await call(token, "PATCH", `/api/tasks/${key}`, { lifecycle_action: "block" });
            patchLatencies.push(performance.now() - t0);
            if (res.status !== 200) throw new Error(`patch: ${res.status}`);
          }
        }),
      );
      const patch = phase(patchLatencies, performance.now() - patchStarted);
      rounds.push({ next, patch });
      console.log(
        `round ${r + 1}: next ${next.perSecond} claims/s (p50 ${next.p50} ms, p99 ${next.p99} ms); ` +
          `PATCH block ${patch.perSecond} writes/s (p50 ${patch.p50} ms, p99 ${patch.p99} ms)`,
      );
    }
  } finally {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const summary = {
    at: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    tasks: TASKS,
    connections: CONNECTIONS,
    rounds: ROUNDS,
    next: {
      claimsPerSecond: median(rounds.map((r) => r.next.perSecond)),
      p50: median(rounds.map((r) => r.next.p50)),
      p99: median(rounds.map((r) => r.next.p99)),
    },
    patch: {
      writesPerSecond: median(rounds.map((r) => r.patch.perSecond)),
      p50: median(rounds.map((r) => r.patch.p50)),
      p99: median(rounds.map((r) => r.patch.p99)),
    },
    perRound: rounds,
  };
  fs.mkdirSync(path.join(ROOT, "bench/results"), { recursive: true });
  fs.writeFileSync(path.join(ROOT, "bench/results/coordination.json"), JSON.stringify(summary, null, 2) + "\n");
  console.log(JSON.stringify({ next: summary.next, patch: summary.patch }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
