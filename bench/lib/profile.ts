/**
 * Where the server's time goes: runs the production server under `node --cpu-prof`
 * on a freshly seeded benchmark database, drives one request type at it with
 * autocannon, stops it gracefully (which writes the profile), and prints the
 * functions with the most self time and the split by package.
 *
 *   tsx bench/lib/profile.ts [list|get|post|patch|mcp] [seconds] [connections]
 *   tsx bench/lib/profile.ts --summarize file.cpuprofile
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { runLoad, type LoadRequest } from "./load";
import { ROOT, spawnServer } from "./proc";
import { round } from "./stats";
import { seedBenchDatabase } from "../seed";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The package (or area) a script URL belongs to. */
function areaOf(url: string): string {
  if (!url) return "(native / VM)";
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith("node:internal/deps/undici")) return "node: undici (fetch Request/Response/Headers)";
  if (url.startsWith("node:internal/webstreams")) return "node: web streams";
  if (url.startsWith("node:")) return `node: ${url.slice(5).split("/").slice(0, 2).join("/")}`;
  if (url.includes("/build/node/server.js")) return "app (build/node/server.js: server, routes, app/lib; SQLite time shows here)";
  if (url.includes("/build/server/")) return "app: Remix build (routes, app/lib)";
  return url.replace(/^file:\/\//, "").replace(ROOT, ".");
}

export function summarize(profile: CpuProfile, top = 25): string {
  // Self time per node from the sample timeline (more exact than hitCount × interval).
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i += 1) {
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const node of profile.nodes) {
    const t = self.get(node.id) ?? 0;
    if (!t) continue;
    const f = node.callFrame;
    const name = f.functionName || "(anonymous)";
    const where = f.url ? `${areaOf(f.url)}:${f.lineNumber + 1}` : areaOf(f.url);
    const key = `${name} — ${where}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + t);
    const area = name === "(idle)" ? "(idle)" : name === "(garbage collector)" ? "(garbage collector)" : areaOf(f.url);
    byArea.set(area, (byArea.get(area) ?? 0) + t);
  }
  const pct = (t: number) => `${round((100 * t) / total, 1)}%`.padStart(6);
  const lines = [`total sampled: ${round(total / 1000)} ms`, "", "self time by package / area:"];
  for (const [area, t] of [...byArea].sort((a, b) => b[1] - a[1]).slice(0, 20)) lines.push(`  ${pct(t)}  ${area}`);
  lines.push("", `top ${top} functions by self time:`);
  for (const [key, t] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(t)}  ${key}`);
  return lines.join("\n");
}

async function profileScenario(kind: string, seconds: number, connections: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preqstation-profile-"));
  try {
    const seeded = await seedBenchDatabase(path.join(dir, "p.db"), { tasks: 10_000, auditEntries: 100_000 });
    const profDir = path.join(dir, "prof");
    const server = await spawnServer(
      "preqstation",
      ["--cpu-prof", `--cpu-prof-dir=${profDir}`, path.join(ROOT, "build/node/server.js")],
      {
        DATABASE_PATH: seeded.dbPath,
        LOG_LEVEL: "warn",
        API_RATE_LIMIT: "9999999/1m",
      },
    );
    const auth = { Authorization: `Bearer ${seeded.token}` };
    const json = { ...auth, "Content-Type": "application/json" };
    let n = 0;
    const next: () => LoadRequest =
      {
        list: () => ({ path: "/api/tasks?limit=50", headers: auth }),
        get: () => ({ path: `/api/tasks/${seeded.readableKeys[n++ % seeded.readableKeys.length]}`, headers: auth }),
        mcp: () => ({
          method: "POST",
          path: "/mcp",
          headers: { ...json, Accept: "application/json, text/event-stream" },
          body: JSON.stringify({
            jsonrpc: "2.0",
            id: ++n,
            method: "tools/call",
            params: { name: "preq_get_task", arguments: { taskId: seeded.readableKeys[n % seeded.readableKeys.length] } },
          }),
        }),
        post: () => ({
          method: "POST",
          path: "/api/tasks",
          headers: json,
          body: JSON.stringify({ title: `P ${n++}`, project_key: "ALPHA", labels: ["backend"] }),
        }),
        patch: () => ({
          method: "PATCH",
          path: `/api/tasks/${seeded.patchableKeys[n % seeded.patchableKeys.length]}`,
          headers: json,
          body: n++ % 2 ? '{"lifecycle_action":"block"}' : '{"lifecycle_action":"start"}',
        }),
      }[kind] ??
      (() => {
        throw new Error(`unknown scenario ${kind}`);
      });
    const result = await runLoad({ url: server.url, connections, durationSec: seconds, next });
    await server.stop();
    const file = fs.readdirSync(profDir).find((f) => f.endsWith(".cpuprofile"));
    if (!file) throw new Error("no profile was written");
    const kept = path.join(os.tmpdir(), `preqstation-${kind}-${Date.now()}.cpuprofile`);
    fs.copyFileSync(path.join(profDir, file), kept);
    process.stdout.write(
      `${kind}: ${round(result.rps)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, non-2xx ${result.non2xx} (profile kept at ${kept})\n\n`,
    );
    process.stdout.write(`${summarize(JSON.parse(fs.readFileSync(kept, "utf8")) as CpuProfile)}\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  if (args[0] === "--summarize" && args[1]) {
    process.stdout.write(`${summarize(JSON.parse(fs.readFileSync(args[1], "utf8")) as CpuProfile, Number(args[2] ?? 25))}\n`);
  } else {
    await profileScenario(args[0] ?? "get", Number(args[1] ?? 10), Number(args[2] ?? 32));
  }
}
