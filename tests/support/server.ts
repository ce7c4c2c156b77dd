/**
 * Starts the real production server (`node build/node/server.js`) as a child
 * process on a temporary database and a free port. Used by integration tests,
 * Playwright and the resilience suite; nothing is mocked.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "../..");
export const SERVER_ENTRY = path.join(ROOT, "build/node/server.js");
export const CLI_ENTRY = path.join(ROOT, "bin/preqstation.mjs");

export interface TestServer {
  url: string;
  origin: string;
  port: number;
  dir: string;
  dbPath: string;
  /** The setup code the server printed, or null when an owner already existed. */
  setupCode: string | null;
  child: ChildProcess;
  /** Everything the server printed on stdout and stderr so far. */
  output(): string;
  /** Sends a signal and resolves with the exit code once the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function tempDir(prefix = "preqstation-test-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Environment for a test server or CLI run: everything explicit, nothing from the developer's shell. */
export function testEnv(dbPath: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: "production",
    DATABASE_PATH: dbPath,
    HOST: "127.0.0.1",
    PORT: "0",
    LOG_LEVEL: "info",
    ...extra,
  };
}

export async function startServer(
  options: { dir?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<TestServer> {
  if (!fs.existsSync(SERVER_ENTRY)) throw new Error("build/node/server.js is missing: run `node scripts/build.mjs` first");
  const dir = options.dir ?? tempDir();
  const dbPath = path.join(dir, "preqstation.db");
  const child = spawn(process.execPath, [SERVER_ENTRY], {
    cwd: ROOT,
    env: testEnv(dbPath, options.env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in time:\n${out}`)), options.timeoutMs ?? 20_000);
    const check = () => {
      const m = /"msg":"listening".*?"port":(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}`));
    });
    check();
  });
  const setupCode = /^Setup code: (\S+)$/m.exec(out)?.[1] ?? null;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: origin,
    origin,
    port,
    dir,
    dbPath,
    setupCode,
    child,
    output: () => out,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

/** Runs the admin CLI (`bin/preqstation.mjs`) against a database, with optional stdin. */
export async function runCli(
  args: string[],
  options: { dbPath: string; input?: string; env?: Record<string, string> },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI_ENTRY, ...args], {
    cwd: ROOT,
    env: testEnv(options.dbPath, options.env),
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  child.stdin.end(options.input ?? "");
  const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
  return { code, stdout, stderr };
}
