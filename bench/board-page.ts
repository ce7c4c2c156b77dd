/**
 * Server time of the owner's task board with a seeded database (issue 12's closing note).
 *
 *   npx tsx bench/board-page.ts [--tasks 10000] [--runs 30]
 *
 * Seeds a temporary database like `npm run bench` does (bench/seed.ts: 5 projects,
 * labels, tasks spread over the statuses), starts the production server on it, signs
 * in, and reads the `Server-Timing` header (handler start to response headers, the
 * whole server-side render) of each board page, after 3 warm-up requests.
 */
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { getPage, postForm, sessionCookieFrom } from "../tests/support/http";
import { startServer, tempDir } from "../tests/support/server";
import { seedBenchDatabase } from "./seed";

const { values } = parseArgs({
  options: { tasks: { type: "string", default: "10000" }, runs: { type: "string", default: "30" } },
});
const tasks = Number(values.tasks);
const runs = Number(values.runs);

const dir = tempDir("preqstation-bench-board-");
const seeded = await seedBenchDatabase(path.join(dir, "preqstation.db"), { tasks, auditEntries: 1_000, analyze: true });
process.stderr.write(`seeded ${tasks} tasks in ${(seeded.ms / 1000).toFixed(1)} s\n`);

const server = await startServer({ dir, timeoutMs: 60_000 });
try {
  const login = await postForm(server, "/login", { email: seeded.email, password: seeded.password });
  const cookie = sessionCookieFrom(login);
  if (!cookie) throw new Error(`sign-in failed: ${login.status}`);
  const key = seeded.readableKeys[0]!;
  const pages = [
    ["board, every column", "/tasks"],
    ["board, one project", "/tasks?project=ALPHA"],
    ["board, label filter", "/tasks?label=bug"],
    ["board, text filter", "/tasks?q=task%201"],
    ["list view, first page", "/tasks?view=list"],
    ["task page", `/tasks/${key}`],
    ["projects with counts", "/projects"],
  ] as const;
  const rows: string[] = [];
  for (const [label, url] of pages) {
    const times: number[] = [];
    for (let i = 0; i < runs + 3; i++) {
      const res = await getPage(server, url, cookie);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
      const ms = Number(/dur=([\d.]+)/.exec(res.headers.get("server-timing") ?? "")?.[1]);
      if (i >= 3) times.push(ms);
    }
    times.sort((a, b) => a - b);
    const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
    rows.push(`| ${label} | \`${url}\` | ${times[0]!.toFixed(1)} | ${at(0.5).toFixed(1)} | ${at(0.95).toFixed(1)} |`);
  }
  process.stdout.write(
    `\n${tasks} tasks, ${runs} runs each, server time (ms), load average ${os.loadavg()[0]!.toFixed(1)} at the end:\n\n| page | path | min | p50 | p95 |\n| --- | --- | --- | --- | --- |\n${rows.join("\n")}\n`,
  );
} finally {
  await server.stop();
}
