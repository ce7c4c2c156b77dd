/**
 * Helpers for the resilience suite (tests/resilience): raw sockets for hostile
 * clients, a health prober, a tmpfs the test can fill up, and direct read-only
 * checks of the SQLite file. Servers come from ./server.ts (`startServer`), the
 * real production build as a child process.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import SQLite from "better-sqlite3";
import { setupOwner } from "./http";
import { runCli, type TestServer } from "./server";

/**
 * Server settings for the suite: the API rate limit raised far above what a test sends,
 * so write load measures durability, not the limiter (which has its own tests).
 */
export const RESILIENCE_ENV = { API_RATE_LIMIT: "1000000/1m" };

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * One request on a fresh connection (no keep-alive pool), so a server that stops
 * accepting connections cannot hide behind a reused socket. Rejects on timeout.
 */
export function request(
  server: Pick<TestServer, "port">,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string; timeoutMs?: number },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: server.port,
        method: options.method ?? "GET",
        path: options.path,
        headers: {
          ...(options.body !== undefined ? { "Content-Length": String(Buffer.byteLength(options.body)) } : {}),
          ...options.headers,
        },
        agent: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on("error", reject);
      },
    );
    req.setTimeout(options.timeoutMs ?? 10_000, () =>
      req.destroy(new Error(`timed out after ${options.timeoutMs ?? 10_000} ms`)),
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** JSON API call with a bearer token on a fresh connection. */
export async function api(
  server: Pick<TestServer, "port">,
  token: string,
  method: string,
  urlPath: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: unknown; headers: http.IncomingHttpHeaders }> {
  const res = await request(server, {
    method,
    path: urlPath,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let json: unknown = null;
  try {
    json = res.body ? JSON.parse(res.body) : null;
  } catch {
    json = res.body;
  }
  return { status: res.status, json, headers: res.headers };
}

/**
 * Makes a fresh server usable for the task API: the owner (through /setup), one
 * full-scope token (through `preqstation token create`) and one project.
 */
export async function prepareApi(server: TestServer, projectKey = "RES"): Promise<{ token: string; projectKey: string }> {
  await setupOwner(server);
  const created = await runCli(["token", "create", "--name", "resilience"], { dbPath: server.dbPath });
  const token = created.stdout.trim();
  if (created.code !== 0 || !/^preq_[A-Za-z0-9]{32}$/.test(token)) {
    throw new Error(`token create failed (${created.code}): ${created.stderr}`);
  }
  const project = await api(server, token, "POST", "/api/projects", { name: "Resilience", project_key: projectKey });
  if (project.status !== 201) throw new Error(`project create failed with ${project.status}: ${JSON.stringify(project.json)}`);
  return { token, projectKey };
}

export interface HealthProbe {
  /** Stops probing and returns every sample taken. */
  stop(): Promise<HealthSample[]>;
}

export interface HealthSample {
  at: number;
  ms: number;
  status: number | null;
  error?: string;
}

/**
 * Calls GET /api/health every `intervalMs` on a new connection, one at a time,
 * each with a 1 s deadline, and records status and latency.
 */
export function probeHealth(server: Pick<TestServer, "port">, intervalMs = 200): HealthProbe {
  const samples: HealthSample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      try {
        const res = await request(server, { path: "/api/health", timeoutMs: 1_000 });
        samples.push({ at: Date.now(), ms: performance.now() - started, status: res.status });
      } catch (error) {
        samples.push({ at: Date.now(), ms: performance.now() - started, status: null, error: (error as Error).message });
      }
      await sleep(intervalMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}

export interface WatchedSocket {
  socket: net.Socket;
  /**
   * Resolves when the connection is gone: `byServer` is true when the server ended or
   * reset it (rather than this side calling `close()`); `atMs` counts from the opening.
   */
  closed: Promise<{ byServer: boolean; atMs: number; received: string }>;
  /** Closes the connection from the client side. */
  close(): void;
}

/** Opens a raw TCP connection and records everything the server sends and who closed it. */
export function openSocket(server: Pick<TestServer, "port">): Promise<WatchedSocket> {
  return new Promise((resolve, reject) => {
    const opened = performance.now();
    const socket = net.connect({ host: "127.0.0.1", port: server.port });
    let received = "";
    let closedByUs = false;
    let connected = false;
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => (received += d));
    const closed = new Promise<{ byServer: boolean; atMs: number; received: string }>((res) => {
      socket.once("close", () => res({ byServer: !closedByUs, atMs: performance.now() - opened, received }));
    });
    socket.once("connect", () => {
      connected = true;
      resolve({
        socket,
        closed,
        close() {
          closedByUs = true;
          socket.destroy();
        },
      });
    });
    socket.on("error", (error) => {
      if (!connected) reject(error);
      // later errors (ECONNRESET from the server) end in "close", recorded above
    });
  });
}

/** Writes to a socket without throwing if the server already closed it. */
export function safeWrite(socket: net.Socket, data: string): void {
  if (!socket.destroyed && socket.writable) socket.write(data);
}

/** `PRAGMA integrity_check` on a closed database file (opened read-write so the WAL is read). */
export function integrityCheck(dbPath: string): string {
  const db = new SQLite(dbPath);
  try {
    return (db.pragma("integrity_check", { simple: true }) as string) ?? "no result";
  } finally {
    db.close();
  }
}

/** Runs one read query on the database file and closes it again. */
export function queryDb<T>(dbPath: string, sqlText: string, ...params: unknown[]): T[] {
  const db = new SQLite(dbPath, { readonly: true, fileMustExist: true });
  try {
    db.pragma("busy_timeout = 5000");
    return db.prepare(sqlText).all(...params) as T[];
  } finally {
    db.close();
  }
}

/** Resolves once the child process has exited, with its exit code and signal, or rejects after `ms`. */
export function waitForExit(
  server: TestServer,
  ms: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; afterMs: number }> {
  const started = performance.now();
  const child = server.child;
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode, afterMs: 0 });
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server still running after ${ms} ms`)), ms);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, afterMs: performance.now() - started });
    });
  });
}

/** True if a TCP connection to the port is refused (nothing listens any more). */
export function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "ECONNREFUSED"));
  });
}

/**
 * A small tmpfs mounted for one test, so the test can fill the disk under a running
 * server (SQLite then fails writes with SQLITE_FULL) and free it again.
 * Needs root (CAP_SYS_ADMIN); `tryMountTmpfs` returns null when that is not available.
 */
export interface SmallDisk {
  dir: string;
  /** Fills every free byte with a filler file. */
  fill(): void;
  /** Removes the filler file: the disk has room again. */
  free(): void;
  unmount(): void;
}

export function tryMountTmpfs(sizeMb: number): SmallDisk | null {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preqstation-disk-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${sizeMb}m,mode=0700`, "tmpfs", dir], { stdio: "pipe" });
  } catch {
    fs.rmSync(dir, { recursive: true, force: true });
    return null;
  }
  const filler = path.join(dir, "filler");
  return {
    dir,
    fill() {
      const fd = fs.openSync(filler, "a");
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      try {
        for (;;) fs.writeSync(fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
      }
      // the last partial block
      try {
        for (;;) fs.writeSync(fd, chunk.subarray(0, 512));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
      } finally {
        fs.closeSync(fd);
      }
    },
    free() {
      fs.rmSync(filler, { force: true });
    },
    unmount() {
      try {
        execFileSync("umount", ["-l", dir], { stdio: "pipe" });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
