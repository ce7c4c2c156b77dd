/**
 * `npm run bench`: PreqStation measured against a bare node:http + better-sqlite3
 * baseline doing the same work (bench/baseline.ts), on the same seeded database,
 * alternating A B A B so drift hits both alike. Prints a Markdown table and writes
 * bench/results/latest.json.
 *
 * Options (flag or environment variable):
 *   --duration N   BENCH_DURATION     seconds per measured run (default 10)
 *   --rounds N     BENCH_ROUNDS       A/B rounds per scenario (default 3)
 *   --only a,b     BENCH_ONLY         run only these scenario ids (list, get, post, patch, mixed, mcp, audit, signin, scale,
 *                                     deep-audit, next: `POST /api/tasks/next` under contention beside a PATCH,
 *                                     bench/coordination.ts, run last with its own server and 1 000 ready tasks)
 *   --quick                           duration 3, rounds 1, small extra databases (a smoke run, not for the README)
 *   --out FILE     BENCH_OUT          where to write the JSON (default bench/results/latest.json)
 *   --binary FILE  BENCH_BINARY       measure this single executable (npm run package: dist/preqstation) instead of
 *                                     build/node/server.js, with npm start's heap cap passed as NODE_OPTIONS
 *   --analyze      BENCH_ANALYZE=1    run ANALYZE on the seeded databases (the app never does; shows plan sensitivity)
 *                  BENCH_SERVER_ENV   JSON object of extra environment for the PreqStation server, for experiments
 *                                     (e.g. '{"NODE_OPTIONS":"--max-old-space-size=128"}'); recorded in the results
 *   --fsync-delay MS BENCH_FSYNC_DELAY slow-disk mode: every fsync/fdatasync of both servers takes MS ms longer, through
 *                                     an LD_PRELOAD shim compiled at run time with the machine's cc (bench/lib/fsync-delay.ts);
 *                                     skipped, saying so, where there is no C compiler. The baseline commits every write on
 *                                     its own, so with the delay it is the per-request-commit "speed of light".
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { runLoad, type LoadRequest, type LoadResult } from "./lib/load";
import { runSequential } from "./lib/sequential";
import { prepareFsyncDelay } from "./lib/fsync-delay";
import { readMemory, ROOT, sampleMemory, spawnServer, type ServerProcess } from "./lib/proc";
import { markdownTable, mb, median, minMax, quantile, round } from "./lib/stats";
import { LABELS, PROJECT_KEYS, seedBenchDatabase, type SeededDatabase } from "./seed";

// ---------------------------------------------------------------- options

const { values: flags } = parseArgs({
  options: {
    duration: { type: "string" },
    rounds: { type: "string" },
    only: { type: "string" },
    quick: { type: "boolean", default: false },
    out: { type: "string" },
    analyze: { type: "boolean", default: false },
    binary: { type: "string" },
    "fsync-delay": { type: "string" },
  },
  strict: true,
});
const quick = flags.quick ?? false;
const DURATION = Number(flags.duration ?? process.env.BENCH_DURATION ?? (quick ? 3 : 10));
const ROUNDS = Number(flags.rounds ?? process.env.BENCH_ROUNDS ?? (quick ? 1 : 3));
const ONLY = new Set(
  (flags.only ?? process.env.BENCH_ONLY ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean),
);
const ANALYZE = (flags.analyze ?? false) || process.env.BENCH_ANALYZE === "1";
const SERVER_ENV = parseServerEnv(process.env.BENCH_SERVER_ENV);
const FSYNC_DELAY_MS = Number(flags["fsync-delay"] ?? process.env.BENCH_FSYNC_DELAY ?? 0);
if (!Number.isFinite(FSYNC_DELAY_MS) || FSYNC_DELAY_MS < 0 || FSYNC_DELAY_MS > 1000) {
  process.stderr.write("--fsync-delay must be a number of milliseconds from 0 to 1000\n");
  process.exit(2);
}
/** Extra environment for both servers in the slow-disk mode (LD_PRELOAD of the shim); set in main(). */
let slowDiskEnv: Record<string, string> = {};
const BINARY_FLAG = flags.binary ?? process.env.BENCH_BINARY;
const BINARY = BINARY_FLAG ? path.resolve(BINARY_FLAG) : null;
if (BINARY && !fs.existsSync(BINARY)) {
  process.stderr.write(`--binary: ${BINARY} does not exist (npm run package writes dist/preqstation)\n`);
  process.exit(2);
}
const OUT = path.resolve(flags.out ?? process.env.BENCH_OUT ?? path.join(ROOT, "bench/results/latest.json"));
const MAIN = { tasks: 10_000, auditEntries: 100_000 };
const SCALE = quick ? { small: 1_000, large: 20_000 } : { small: 1_000, large: 100_000 };
const DEEP = quick ? { entries: 200_000, pagesDeep: 2_000 } : { entries: 1_000_000, pagesDeep: 2_000 };
const AUDIT_PAGE_SIZE = 50;
const CONNECTIONS = [1, 32];
const SIGN_INS = 10;
if (!Number.isFinite(DURATION) || DURATION < 1 || !Number.isInteger(ROUNDS) || ROUNDS < 1) {
  process.stderr.write("--duration must be ≥ 1 and --rounds a whole number ≥ 1\n");
  process.exit(2);
}
function parseServerEnv(text: string | undefined): Record<string, string> {
  if (!text) return {};
  const value = JSON.parse(text) as unknown;
  if (typeof value !== "object" || value === null || Object.values(value).some((v) => typeof v !== "string")) {
    process.stderr.write("BENCH_SERVER_ENV must be a JSON object of strings\n");
    process.exit(2);
  }
  return value as Record<string, string>;
}
const wanted = (id: string) => ONLY.size === 0 || ONLY.has(id);
const log = (text: string) => process.stderr.write(`${text}\n`);

// ---------------------------------------------------------------- servers

const SERVER_ENTRY = path.join(ROOT, "build/node/server.js");
/** The Node flags `npm start` runs the server with (package.json's start script), so the bench measures the same process. */
const START_SCRIPT = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: { start: string } })
  .scripts.start;
const START_FLAGS: string[] = START_SCRIPT.match(/--[a-z-]+=\S+/g) ?? [];
/** The environment `npm start` sets (`NAME=${NAME:-default}` before `node`): the caller's value, else the default. */
const START_ENV: Record<string, string> = Object.fromEntries(
  [...START_SCRIPT.matchAll(/(?:^|\s)([A-Z_][A-Z0-9_]*)=\$\{\1:-([^}]*)\}/g)].map((m) => [m[1]!, process.env[m[1]!] ?? m[2]!]),
);

function projectEnv(dbPath: string): Record<string, string> {
  return {
    ...START_ENV,
    DATABASE_PATH: dbPath,
    LOG_LEVEL: "warn",
    // Far above anything the benchmark sends: the limiter stays on the request path but never trips.
    API_RATE_LIMIT: "9999999/1m",
    LOGIN_RATE_LIMIT: "9999999/1m",
    ...slowDiskEnv,
    ...SERVER_ENV,
  };
}

function startProject(dbPath: string) {
  // The executable takes no Node flags on its command line; Node reads them from NODE_OPTIONS.
  if (BINARY)
    return spawnServer("preqstation", [], { NODE_OPTIONS: START_FLAGS.join(" "), ...projectEnv(dbPath) }, "/api/health", BINARY);
  return spawnServer("preqstation", [...START_FLAGS, SERVER_ENTRY], projectEnv(dbPath));
}

function startBaseline(dbPath: string) {
  return spawnServer("baseline", ["--import", "tsx", path.join(ROOT, "bench/baseline.ts")], {
    DATABASE_PATH: dbPath,
    ...slowDiskEnv,
  });
}

/** Signs in through /login as a browser would (same-origin form post); returns the `session=…` cookie. */
async function signIn(server: ServerProcess, seeded: SeededDatabase): Promise<string> {
  const res = await fetch(`${server.url}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: server.url },
    body: new URLSearchParams({ email: seeded.email, password: seeded.password }).toString(),
  });
  await res.arrayBuffer();
  const cookie = res.headers
    .getSetCookie()
    .find((c) => c.startsWith("session="))
    ?.split(";")[0];
  if (res.status !== 302 || !cookie) throw new Error(`sign-in failed with ${res.status}`);
  return cookie;
}

// ---------------------------------------------------------------- scenarios

interface Target {
  label: string;
  server: ServerProcess;
}

interface Scenario {
  id: string;
  title: string;
  connections: number;
  /**
   * "sequential": one request at a time on one connection, timed precisely, with the
   * server's own time from Server-Timing (the request is fixed: `next` is called once).
   */
  mode?: "autocannon" | "sequential";
  /** What to send, per target (the two sides send the same requests). */
  next: (target: Target) => () => LoadRequest;
  /** Runs around each measured run of a target (e.g. concurrent sign-ins). */
  around?: (target: Target, run: () => Promise<LoadResult>) => Promise<LoadResult & { extra?: Record<string, number> }>;
}

interface RunRecord extends LoadResult {
  target: string;
  round: number;
  peakRssMb: number;
  extra?: Record<string, number>;
}

interface SideSummary {
  rps: number;
  p50: number;
  p99: number;
  peakRssMb: number;
  non2xx: number;
  errors: number;
  /** The server's own time (Server-Timing), in sequential mode. */
  serverP50?: number;
  serverP99?: number;
}

interface ScenarioResult {
  id: string;
  title: string;
  connections: number;
  a: string;
  b: string;
  runs: RunRecord[];
  summary: {
    a: SideSummary;
    b: SideSummary;
    /** a/b of req/s per round: median and min–max. */
    rpsRatio: { median: number; min: number; max: number };
    /** a/b of p50 and p99 latency per round. */
    p50Ratio: { median: number; min: number; max: number };
    p99Ratio: { median: number; min: number; max: number };
  };
}

async function measure(
  target: Target,
  scenario: Scenario,
  durationSec: number,
): Promise<RunRecord & { extra?: Record<string, number> }> {
  const memory = sampleMemory(target.server.pid);
  const run = async (): Promise<LoadResult & { extra?: Record<string, number> }> => {
    if (scenario.mode !== "sequential") {
      return runLoad({ url: target.server.url, connections: scenario.connections, durationSec, next: scenario.next(target) });
    }
    const request = scenario.next(target)();
    const r = await runSequential({ url: target.server.url, path: request.path, headers: request.headers, durationSec });
    const extra: Record<string, number> = {};
    if (r.serverP50 !== null) extra.serverP50 = r.serverP50;
    if (r.serverP99 !== null) extra.serverP99 = r.serverP99;
    return {
      rps: r.rps,
      p50: r.p50,
      p99: r.p99,
      max: Number.NaN,
      requests: r.requests,
      non2xx: r.non2xx,
      errors: r.errors,
      timeouts: 0,
      extra,
    };
  };
  const result = scenario.around ? await scenario.around(target, run) : await run();
  const { peakRss } = memory.stop();
  return { ...result, target: target.label, round: 0, peakRssMb: mb(peakRss) };
}

/** Warms both sides up, then alternates A B for ROUNDS rounds. */
/**
 * `next` under contention (32 workers, 1 000 ready tasks) beside a plain PATCH write:
 * bench/coordination.ts, in its own process with its own server; it prints its rounds
 * and writes bench/results/coordination.json.
 */
function coordinationBench(): void {
  log("\n▶ POST /api/tasks/next under contention vs PATCH lifecycle_action block (bench/coordination.ts)");
  const tsx = path.join(ROOT, "node_modules", ".bin", "tsx");
  const args = ["bench/coordination.ts", "--rounds", String(ROUNDS), "--tasks", quick ? "200" : "1000"];
  const result = spawnSync(tsx, args, { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
  if (result.status !== 0) throw new Error(`bench/coordination.ts failed (exit ${result.status ?? result.signal})`);
}

async function compare(scenario: Scenario, a: Target, b: Target): Promise<ScenarioResult> {
  log(`\n▶ ${scenario.title}, ${scenario.connections} connection(s): ${a.label} vs ${b.label}`);
  await measure(a, scenario, 1);
  await measure(b, scenario, 1);
  const runs: RunRecord[] = [];
  for (let round = 1; round <= ROUNDS; round += 1) {
    for (const target of [a, b]) {
      const r = { ...(await measure(target, scenario, DURATION)), round };
      runs.push(r);
      const extra = r.extra ? ` ${JSON.stringify(r.extra)}` : "";
      const bad = r.non2xx || r.errors ? `  ⚠ non-2xx ${r.non2xx}, errors ${r.errors}` : "";
      log(
        `  round ${round} ${target.label.padEnd(12)} ${round2(r.rps)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms  rss ${r.peakRssMb} MB${extra}${bad}`,
      );
    }
  }
  const side = (label: string) => {
    const rs = runs.filter((r) => r.target === label);
    return {
      rps: round(median(rs.map((r) => r.rps))),
      p50: round(median(rs.map((r) => r.p50)), 2),
      p99: round(median(rs.map((r) => r.p99)), 2),
      peakRssMb: Math.max(...rs.map((r) => r.peakRssMb)),
      non2xx: rs.reduce((n, r) => n + r.non2xx, 0),
      errors: rs.reduce((n, r) => n + r.errors, 0),
      ...(rs.every((r) => r.extra?.serverP50 !== undefined)
        ? {
            serverP50: round(median(rs.map((r) => r.extra!.serverP50!)), 2),
            serverP99: round(median(rs.map((r) => r.extra!.serverP99!)), 2),
          }
        : {}),
    };
  };
  const ratios = (f: (r: RunRecord) => number) => {
    const values: number[] = [];
    for (let round = 1; round <= ROUNDS; round += 1) {
      const ra = runs.find((r) => r.round === round && r.target === a.label)!;
      const rb = runs.find((r) => r.round === round && r.target === b.label)!;
      values.push(f(ra) / f(rb));
    }
    const { min, max } = minMax(values);
    return { median: round(median(values), 3), min: round(min, 3), max: round(max, 3) };
  };
  return {
    id: scenario.id,
    title: scenario.title,
    connections: scenario.connections,
    a: a.label,
    b: b.label,
    runs,
    summary: {
      a: side(a.label),
      b: side(b.label),
      rpsRatio: ratios((r) => r.rps),
      p50Ratio: ratios((r) => r.p50),
      p99Ratio: ratios((r) => r.p99),
    },
  };
}

const round2 = (n: number) => String(round(n)).padStart(6);

/** The scenarios measured against the bare baseline, in the order they run and appear in the main table. */
const API_IDS = ["list", "get", "post", "patch", "mixed"];

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}

function apiScenarios(seeded: SeededDatabase): Scenario[] {
  const auth = { Authorization: `Bearer ${seeded.token}` };
  const json = { ...auth, "Content-Type": "application/json" };
  let created = 0;
  /** A fresh task (unique title, projects and labels in turn), shared by `post` and `mixed` so both send the same shape. */
  const createTask = (): LoadRequest => ({
    method: "POST",
    path: "/api/tasks",
    headers: json,
    body: JSON.stringify({
      title: `Bench task ${++created}`,
      project_key: PROJECT_KEYS[created % PROJECT_KEYS.length],
      labels: [LABELS[created % LABELS.length], LABELS[(created + 1) % LABELS.length]],
      priority: "high",
    }),
  });
  const out: Scenario[] = [];
  for (const connections of CONNECTIONS) {
    out.push({
      id: "list",
      title: "GET /api/tasks?limit=50",
      connections,
      next: () => () => ({ path: "/api/tasks?limit=50", headers: auth }),
    });
    out.push({
      id: "get",
      title: "GET /api/tasks/:id",
      connections,
      next: () => () => ({ path: `/api/tasks/${pick(seeded.readableKeys)}`, headers: auth }),
    });
    out.push({
      id: "post",
      title: "POST /api/tasks (task + audit entry)",
      connections,
      next: () => createTask,
    });
    out.push({
      id: "patch",
      title: "PATCH /api/tasks/:id lifecycle (start/block)",
      connections,
      // start and block are both allowed from hold and todo, so every request is a real change (version +1).
      next: () => {
        let n = 0;
        return () => ({
          method: "PATCH",
          path: `/api/tasks/${pick(seeded.patchableKeys)}`,
          headers: json,
          body: (n++ & 1) === 0 ? '{"lifecycle_action":"start"}' : '{"lifecycle_action":"block"}',
        });
      },
    });
    out.push({
      id: "mixed",
      title: "mixed: 80 % reads (GET /api/tasks/:id and GET /api/tasks?limit=50), 20 % writes (POST /api/tasks)",
      connections,
      // A fixed cycle of five per run, so both sides get the same mix whatever their speed:
      // get, get, list, get, post — 60 % by key, 20 % the 50-task list, 20 % new tasks.
      next: () => {
        let n = 0;
        return () => {
          const slot = n++ % 5;
          if (slot === 4) return createTask();
          if (slot === 2) return { path: "/api/tasks?limit=50", headers: auth };
          return { path: `/api/tasks/${pick(seeded.readableKeys)}`, headers: auth };
        };
      },
    });
  }
  return out;
}

/** Ten clients signing in back to back, as long as `run` lasts. */
async function withSignIns(server: ServerProcess, seeded: SeededDatabase, run: () => Promise<LoadResult>) {
  let running = true;
  let ok = 0;
  let failed = 0;
  const loops = Array.from({ length: SIGN_INS }, async () => {
    while (running) {
      try {
        const res = await fetch(`${server.url}/login`, {
          method: "POST",
          redirect: "manual",
          headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: server.url },
          body: new URLSearchParams({ email: seeded.email, password: seeded.password }).toString(),
        });
        await res.arrayBuffer();
        if (res.status === 302) ok += 1;
        else failed += 1;
      } catch {
        failed += 1;
      }
    }
  });
  try {
    const result = await run();
    return { ...result, extra: { signIns: ok, signInFailures: failed } };
  } finally {
    running = false;
    await Promise.all(loops);
  }
}

// ---------------------------------------------------------------- the extra databases

/** p50 of GET /api/tasks?limit=50 with 1 000 tasks vs 100 000 tasks (same server build, 1 connection). */
async function scaleComparison(dir: string): Promise<ScenarioResult> {
  const small = await seedBenchDatabase(path.join(dir, "small.db"), {
    tasks: SCALE.small,
    auditEntries: 1_000,
    analyze: ANALYZE,
  });
  const large = await seedBenchDatabase(path.join(dir, "large.db"), {
    tasks: SCALE.large,
    auditEntries: 1_000,
    analyze: ANALYZE,
  });
  log(`seeded ${SCALE.small} and ${SCALE.large} tasks in ${small.ms + large.ms} ms`);
  const s = await startProject(small.dbPath);
  const l = await startProject(large.dbPath);
  try {
    const scenario: Scenario = {
      id: "scale",
      title: `GET /api/tasks?limit=50 at ${SCALE.large.toLocaleString("en")} vs ${SCALE.small.toLocaleString("en")} tasks`,
      connections: 1,
      mode: "sequential",
      next: (t) => {
        const token = t.server === s ? small.token : large.token;
        return () => ({ path: "/api/tasks?limit=50", headers: { Authorization: `Bearer ${token}` } });
      },
    };
    return await compare(
      scenario,
      { label: `${SCALE.large / 1000}k tasks`, server: l },
      { label: `${SCALE.small / 1000}k tasks`, server: s },
    );
  } finally {
    await Promise.all([s.stop(), l.stop()]);
  }
}

interface DeepAuditResult {
  entries: number;
  pagesDeep: number;
  cursor: string;
  samples: number;
  serverMs: { p50: number; p99: number; max: number };
  clientMs: { p50: number; p99: number };
  filtered: { query: string; serverMs: { p50: number; p99: number } };
  firstPage: { serverMs: { p50: number; p99: number } };
  peakRssMb: number;
  seedMs: number;
}

/** Sequential GETs of one page, reading the server's own time from Server-Timing. */
async function timePage(server: ServerProcess, cookie: string, pagePath: string, samples: number) {
  const serverMs: number[] = [];
  const clientMs: number[] = [];
  for (let i = 0; i < samples + 10; i += 1) {
    const started = performance.now();
    const res = await fetch(server.url + pagePath, { headers: { Cookie: cookie }, redirect: "manual" });
    const text = await res.text();
    const elapsed = performance.now() - started;
    if (res.status !== 200) throw new Error(`${pagePath} answered ${res.status}: ${text.slice(0, 200)}`);
    if (i < 10) continue; // warm-up
    const dur = /app;dur=([\d.]+)/.exec(res.headers.get("server-timing") ?? "")?.[1];
    serverMs.push(dur === undefined ? Number.NaN : Number(dur));
    clientMs.push(elapsed);
  }
  return {
    server: { p50: round(median(serverMs), 2), p99: round(quantile(serverMs, 0.99), 2), max: round(Math.max(...serverMs), 2) },
    client: { p50: round(median(clientMs), 2), p99: round(quantile(clientMs, 0.99), 2) },
  };
}

async function deepAudit(dir: string): Promise<DeepAuditResult | null> {
  log(
    `\n▶ audit page ${DEEP.pagesDeep.toLocaleString("en")} pages deep in ${DEEP.entries.toLocaleString("en")} entries (seeding…)`,
  );
  const seeded = await seedBenchDatabase(path.join(dir, "deep-audit.db"), {
    tasks: 1_000,
    auditEntries: DEEP.entries,
    analyze: ANALYZE,
  });
  log(`  seeded in ${seeded.ms} ms`);
  const server = await startProject(seeded.dbPath);
  const memory = sampleMemory(server.pid);
  try {
    const cookie = await signIn(server, seeded);
    const probe = await fetch(`${server.url}/settings/audit-logs`, { headers: { Cookie: cookie }, redirect: "manual" });
    await probe.arrayBuffer();
    if (probe.status !== 200) {
      log(`  /settings/audit-logs answered ${probe.status}: skipped (the audit console page is not in this build)`);
      return null;
    }
    const boundary = seeded.lastAuditSeq - AUDIT_PAGE_SIZE * DEEP.pagesDeep + 1;
    const cursor = `before-${boundary}`;
    const deep = await timePage(server, cookie, `/settings/audit-logs?cursor=${cursor}`, 200);
    const filteredQuery = `/settings/audit-logs?action=task.update&cursor=${cursor}`;
    const filtered = await timePage(server, cookie, filteredQuery, 100);
    const first = await timePage(server, cookie, "/settings/audit-logs", 100);
    log(`  deep page: server p50 ${deep.server.p50} ms, p99 ${deep.server.p99} ms; client p50 ${deep.client.p50} ms`);
    log(`  deep page filtered by action: server p50 ${filtered.server.p50} ms, p99 ${filtered.server.p99} ms`);
    log(`  first page: server p50 ${first.server.p50} ms, p99 ${first.server.p99} ms`);
    return {
      entries: DEEP.entries,
      pagesDeep: DEEP.pagesDeep,
      cursor,
      samples: 200,
      serverMs: deep.server,
      clientMs: deep.client,
      filtered: { query: filteredQuery, serverMs: { p50: filtered.server.p50, p99: filtered.server.p99 } },
      firstPage: { serverMs: { p50: first.server.p50, p99: first.server.p99 } },
      peakRssMb: mb(memory.stop().hwm),
      seedMs: seeded.ms,
    };
  } finally {
    memory.stop();
    await server.stop();
  }
}

// ---------------------------------------------------------------- main

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preqstation-bench-"));
  const started = new Date();
  const loadAtStart = os.loadavg()[0]!;
  log(`PreqStation benchmark — ${DURATION} s × ${ROUNDS} round(s) per side, temp dir ${dir}`);
  let fsyncShimMs: number | null = null;
  if (FSYNC_DELAY_MS > 0) {
    const shim = prepareFsyncDelay(dir, FSYNC_DELAY_MS);
    if (!shim.ok) {
      log(`--fsync-delay ${FSYNC_DELAY_MS}: slow-disk mode skipped, nothing measured: ${shim.reason}`);
      fs.rmSync(dir, { recursive: true, force: true });
      return;
    }
    slowDiskEnv = shim.env;
    fsyncShimMs = round(shim.measuredMsPerSync, 2);
    log(
      `slow disk: every fsync/fdatasync of both servers +${FSYNC_DELAY_MS} ms (LD_PRELOAD ${shim.library}; checked: ${fsyncShimMs} ms per sync)`,
    );
  }
  const results: ScenarioResult[] = [];
  let deep: DeepAuditResult | null = null;
  let mainPeakRssMb = 0;
  let baselinePeakRssMb = 0;
  let seedMs = 0;
  try {
    const needsMain = ["list", "get", "post", "patch", "mixed", "mcp", "audit", "signin"].some(wanted);
    if (needsMain) {
      const seeded = await seedBenchDatabase(path.join(dir, "main.db"), { ...MAIN, analyze: ANALYZE });
      seedMs = seeded.ms;
      log(
        `seeded ${MAIN.tasks} tasks in ${PROJECT_KEYS.length} projects, 1 token, ${MAIN.auditEntries} audit entries in ${seeded.ms} ms`,
      );
      const project = await startProject(seeded.dbPath);
      const baseline = await startBaseline(seeded.dbPath);
      const A: Target = { label: "preqstation", server: project };
      const B: Target = { label: "baseline", server: baseline };
      try {
        // Reads first, then writes (writes add tasks at the top of the list), then the mix of both.
        const api = apiScenarios(seeded);
        for (const id of API_IDS) {
          if (!wanted(id)) continue;
          for (const scenario of api.filter((s) => s.id === id)) results.push(await compare(scenario, A, B));
        }

        if (wanted("mcp")) {
          // The same read through the MCP endpoint and through the API, on the same server.
          let id = 0;
          const mcp: Scenario = {
            id: "mcp",
            title: "MCP tools/call get_task vs GET /api/tasks/:id",
            connections: 32,
            next: (t) =>
              t.label === "mcp get_task"
                ? () => ({
                    method: "POST",
                    path: "/mcp",
                    headers: {
                      Authorization: `Bearer ${seeded.token}`,
                      "Content-Type": "application/json",
                      Accept: "application/json, text/event-stream",
                      "Mcp-Protocol-Version": "2025-06-18",
                    },
                    body: JSON.stringify({
                      jsonrpc: "2.0",
                      id: ++id,
                      method: "tools/call",
                      params: { name: "preq_get_task", arguments: { taskId: pick(seeded.readableKeys) } },
                    }),
                  })
                : () => ({
                    path: `/api/tasks/${pick(seeded.readableKeys)}`,
                    headers: { Authorization: `Bearer ${seeded.token}` },
                  }),
          };
          results.push(await compare(mcp, { label: "mcp get_task", server: project }, { label: "api get", server: project }));
        }

        if (wanted("signin")) {
          for (const connections of CONNECTIONS) {
            const scenario: Scenario = {
              id: "signin",
              title: `GET /api/tasks?limit=50 with vs without ${SIGN_INS} concurrent sign-ins`,
              connections,
              next: () => () => ({ path: "/api/tasks?limit=50", headers: { Authorization: `Bearer ${seeded.token}` } }),
              around: (t, run) => (t.label === "with sign-ins" ? withSignIns(project, seeded, run) : run()),
            };
            results.push(
              await compare(scenario, { label: "with sign-ins", server: project }, { label: "without", server: project }),
            );
          }
        }

        if (wanted("audit")) {
          const cookie = await signIn(project, seeded);
          const pagesDeep = Math.floor(MAIN.auditEntries / AUDIT_PAGE_SIZE / 2);
          const cursor = `before-${seeded.lastAuditSeq - AUDIT_PAGE_SIZE * pagesDeep + 1}`;
          const probe = await fetch(`${project.url}/settings/audit-logs?cursor=${cursor}`, {
            headers: { Cookie: cookie },
            redirect: "manual",
          });
          await probe.arrayBuffer();
          if (probe.status !== 200) {
            log(`\n▶ /settings/audit-logs answered ${probe.status}: skipped (the audit console page is not in this build)`);
          } else {
            const page = (pagePath: string) => () => () => ({ path: pagePath, headers: { Cookie: cookie } });
            const deepPage = page(`/settings/audit-logs?cursor=${cursor}`);
            const firstPage = page("/settings/audit-logs");
            // Compared with the first page, so the ratio shows what depth costs.
            const r = await compare(
              {
                id: "audit",
                title: `GET /settings/audit-logs ${pagesDeep} pages deep vs first page (signed in)`,
                connections: 1,
                mode: "sequential",
                next: (t) => (t.label === "deep page" ? deepPage() : firstPage()),
              },
              { label: "deep page", server: project },
              { label: "first page", server: project },
            );
            results.push(r);
          }
        }
      } finally {
        mainPeakRssMb = mb(readMemory(project.pid)?.hwm ?? 0);
        baselinePeakRssMb = mb(readMemory(baseline.pid)?.hwm ?? 0);
        await Promise.all([project.stop(), baseline.stop()]);
      }
    }
    if (wanted("scale")) results.push(await scaleComparison(dir));
    if (wanted("deep-audit")) deep = await deepAudit(dir);
    if (wanted("next")) coordinationBench();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const peakRss = Math.max(
    mainPeakRssMb,
    deep?.peakRssMb ?? 0,
    ...results.filter((r) => r.id === "scale").map((r) => Math.max(r.summary.a.peakRssMb, r.summary.b.peakRssMb)),
  );
  const report = {
    date: started.toISOString(),
    machine: {
      cpu: os.cpus()[0]?.model ?? "unknown",
      cores: os.cpus().length,
      memoryGb: round(os.totalmem() / 1024 ** 3, 1),
      node: process.version,
      platform: `${os.type()} ${os.release()}`,
      /** 1-minute load average before and after: other work on the machine skews the numbers. */
      loadAverage: { start: round(loadAtStart, 2), end: round(os.loadavg()[0]!, 2) },
    },
    settings: {
      durationSec: DURATION,
      rounds: ROUNDS,
      fsyncDelayMs: FSYNC_DELAY_MS,
      fsyncShimMsPerSync: fsyncShimMs,
      quick,
      analyze: ANALYZE,
      serverEnv: SERVER_ENV,
      startEnv: START_ENV,
      binary: BINARY,
      seed: MAIN,
      seedMs,
      scale: SCALE,
      deepAudit: DEEP,
    },
    scenarios: results,
    deepAudit: deep,
    peakRssMb: { preqstation: peakRss, baseline: baselinePeakRssMb },
    targets: targets(results, deep, peakRss),
  };
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${renderMarkdown(report)}\n`);
  log(`\nwrote ${path.relative(process.cwd(), OUT)}`);
}

interface TargetRow {
  target: string;
  goal: string;
  measured: string;
  met: boolean | null;
}

function targets(results: ScenarioResult[], deep: DeepAuditResult | null, peakRss: number): TargetRow[] {
  const find = (id: string, connections: number) => results.find((r) => r.id === id && r.connections === connections);
  const rows: TargetRow[] = [];
  const ratio = (r: ScenarioResult) => `${r.summary.rpsRatio.median}× (${r.summary.rpsRatio.min}–${r.summary.rpsRatio.max})`;
  // Issue 15's targets, all at 32 connections.
  const post32 = find("post", 32);
  if (post32 && FSYNC_DELAY_MS > 0) {
    rows.push({
      target: `POST /api/tasks, 32 connections, every fsync +${FSYNC_DELAY_MS} ms: req/s vs the per-request-commit baseline`,
      goal: "≥ 5×",
      measured: ratio(post32),
      met: post32.summary.rpsRatio.median >= 5,
    });
  } else if (post32) {
    rows.push({
      target: "POST /api/tasks, 32 connections: req/s vs baseline",
      goal: "≥ 0.5×",
      measured: ratio(post32),
      met: post32.summary.rpsRatio.median >= 0.5,
    });
    rows.push({
      target: "POST /api/tasks, 32 connections: p99",
      goal: "≤ 25 ms",
      measured: `${post32.summary.a.p99} ms`,
      met: post32.summary.a.p99 <= 25,
    });
  }
  const list32 = find("list", 32);
  if (list32) {
    rows.push({
      target: "GET /api/tasks?limit=50, 32 connections: req/s vs baseline",
      goal: "≥ 0.7×",
      measured: ratio(list32),
      met: list32.summary.rpsRatio.median >= 0.7,
    });
    rows.push({
      target: "GET /api/tasks?limit=50, 32 connections: p99",
      goal: "≤ 50 ms",
      measured: `${list32.summary.a.p99} ms`,
      met: list32.summary.a.p99 <= 50,
    });
  }
  const get32 = find("get", 32);
  if (get32) {
    rows.push({
      target: "GET /api/tasks/:id, 32 connections: req/s vs baseline",
      goal: "≥ 0.9×",
      measured: ratio(get32),
      met: get32.summary.rpsRatio.median >= 0.9,
    });
  }
  const mixed32 = find("mixed", 32);
  if (mixed32) {
    // Report only: the issue sets no bar for the mix.
    rows.push({
      target: "mixed 80 % reads / 20 % writes, 32 connections: req/s vs baseline",
      goal: "report",
      measured: `${ratio(mixed32)}; ${mixed32.summary.a.rps} vs ${mixed32.summary.b.rps} req/s`,
      met: null,
    });
    rows.push({
      target: "mixed 80 % reads / 20 % writes, 32 connections: p99",
      goal: "report",
      measured: `${mixed32.summary.a.p99} ms (baseline ${mixed32.summary.b.p99} ms)`,
      met: null,
    });
  }
  const mcp = find("mcp", 32);
  if (mcp) {
    rows.push({
      target: "MCP tools/call get_task, 32 connections: req/s vs GET /api/tasks/:id (cost ≤ 1.5×)",
      goal: "≥ 0.67×",
      measured: `${mcp.summary.rpsRatio.median}× (${mcp.summary.rpsRatio.min}–${mcp.summary.rpsRatio.max})`,
      met: mcp.summary.rpsRatio.median >= 1 / 1.5,
    });
  }
  const scale = results.find((r) => r.id === "scale");
  if (scale) {
    rows.push({
      target: `GET /api/tasks?limit=50 p50 at ${SCALE.large.toLocaleString("en")} vs ${SCALE.small.toLocaleString("en")} tasks`,
      goal: "within 1.5×",
      measured: `${scale.summary.p50Ratio.median}× (${scale.summary.a.p50} vs ${scale.summary.b.p50} ms)`,
      met: scale.summary.p50Ratio.median <= 1.5,
    });
  }
  if (deep) {
    rows.push({
      target: `audit page ${deep.pagesDeep.toLocaleString("en")} pages deep, ${deep.entries.toLocaleString("en")} entries: server time`,
      goal: "≤ 50 ms (median)",
      measured: `p50 ${deep.serverMs.p50} ms (p99 ${deep.serverMs.p99} ms)`,
      met: deep.serverMs.p50 <= 50,
    });
  }
  for (const connections of CONNECTIONS) {
    const s = find("signin", connections);
    if (s) {
      rows.push({
        target: `API p99 during ${SIGN_INS} concurrent sign-ins, ${connections} connection(s)`,
        goal: "≤ 2× without",
        measured: `${s.summary.p99Ratio.median}× (${s.summary.a.p99} vs ${s.summary.b.p99} ms)`,
        met: s.summary.p99Ratio.median <= 2,
      });
    }
  }
  rows.push({
    target: "peak RSS of the server under all of the above",
    goal: "≤ 200 MB",
    measured: `${peakRss} MB`,
    met: peakRss <= 200,
  });
  return rows;
}

function renderMarkdown(report: {
  date: string;
  machine: { cpu: string; cores: number; memoryGb: number; node: string; loadAverage: { start: number; end: number } };
  settings: { durationSec: number; rounds: number; fsyncDelayMs: number };
  scenarios: ScenarioResult[];
  targets: TargetRow[];
  peakRssMb: { preqstation: number; baseline: number };
}): string {
  const head = `Machine: ${report.machine.cpu}, ${report.machine.cores} cores, ${report.machine.memoryGb} GB, Node ${report.machine.node} (load average ${report.machine.loadAverage.start} at start) — ${report.date.slice(0, 16).replace("T", " ")} UTC, ${report.settings.rounds} × ${report.settings.durationSec} s per side, A/B alternating.${report.settings.fsyncDelayMs > 0 ? ` Slow disk: every fsync/fdatasync of both servers +${report.settings.fsyncDelayMs} ms.` : ""}`;
  const api = report.scenarios.filter((s) => API_IDS.includes(s.id));
  const apiTable = markdownTable(
    [
      "scenario",
      "conns",
      "PreqStation req/s",
      "baseline req/s",
      "ratio (min–max)",
      "PreqStation p50 / p99 ms",
      "baseline p50 / p99 ms",
      "peak RSS MB (P / B)",
    ],
    api.map((s) => [
      s.title,
      s.connections,
      s.summary.a.rps,
      s.summary.b.rps,
      `${s.summary.rpsRatio.median}× (${s.summary.rpsRatio.min}–${s.summary.rpsRatio.max})`,
      `${s.summary.a.p50} / ${s.summary.a.p99}`,
      `${s.summary.b.p50} / ${s.summary.b.p99}`,
      `${s.summary.a.peakRssMb} / ${s.summary.b.peakRssMb}`,
    ]),
  );
  const other = report.scenarios.filter((s) => !API_IDS.includes(s.id));
  const otherTable = other.length
    ? markdownTable(
        [
          "scenario",
          "conns",
          "A",
          "B",
          "A req/s",
          "B req/s",
          "A p50 / p99 ms",
          "B p50 / p99 ms",
          "p50 A/B (min–max)",
          "p99 A/B (min–max)",
          "server time p50 A / B ms",
        ],
        other.map((s) => [
          s.title,
          s.connections,
          s.a,
          s.b,
          s.summary.a.rps,
          s.summary.b.rps,
          `${s.summary.a.p50} / ${s.summary.a.p99}`,
          `${s.summary.b.p50} / ${s.summary.b.p99}`,
          `${s.summary.p50Ratio.median}× (${s.summary.p50Ratio.min}–${s.summary.p50Ratio.max})`,
          `${s.summary.p99Ratio.median}× (${s.summary.p99Ratio.min}–${s.summary.p99Ratio.max})`,
          s.summary.a.serverP50 !== undefined ? `${s.summary.a.serverP50} / ${s.summary.b.serverP50}` : "—",
        ]),
      )
    : "";
  const targetTable = markdownTable(
    ["target", "goal", "measured", "met"],
    report.targets.map((t) => [t.target, t.goal, t.measured, t.met === null ? "—" : t.met ? "yes" : "**no**"]),
  );
  // A side that answered anything but 2xx measured something else than the scenario says: say so under the tables.
  const failures = report.scenarios
    .flatMap((s) => (["a", "b"] as const).map((side) => ({ s, label: s[side], ...s.summary[side] })))
    .filter((f) => f.non2xx > 0 || f.errors > 0)
    .map((f) => `⚠ ${f.s.title}, ${f.s.connections} conn(s), ${f.label}: ${f.non2xx} non-2xx, ${f.errors} errors`);
  return [head, "", apiTable, "", otherTable, "", targetTable, "", ...failures.flatMap((f) => [f, ""])].join("\n");
}

await main();
