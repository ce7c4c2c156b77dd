/**
 * The production server as a process: start-up and configuration errors, headers,
 * the API's health and error shapes, and graceful shutdown.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, SERVER_ENTRY, startServer, tempDir, testEnv, type TestServer } from "../support/server";
import { setupOwner } from "../support/http";

/** Runs the server with `env` and collects what it printed and its exit code (it is expected to exit). */
function runServerExpectingExit(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [SERVER_ENTRY], {
    cwd: ROOT,
    env: testEnv(path.join(tempDir(), "preqstation.db"), env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  return new Promise((resolve) =>
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

describe("start-up", () => {
  it.each([
    ["SESSION_SECRET", "too-short-secret-value"],
    ["PORT", "http"],
    ["COOKIE_SECURE", "perhaps"],
    ["LOGIN_RATE_LIMIT", "ten per minute"],
    ["ALLOWED_ORIGINS", "evil.example"],
  ])("refuses a bad %s with a message naming it and exit code 1", async (name, value) => {
    const { code, stdout, stderr } = await runServerExpectingExit({ [name]: value });
    expect(code).toBe(1);
    expect(stderr).toContain(`${name}: `);
    expect(stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    expect(stdout).not.toContain("listening");
    if (name === "SESSION_SECRET") expect(stderr + stdout).not.toContain(value);
  });

  it("says clearly that it cannot start when the port is taken", async () => {
    const blocker = net.createServer().listen(0, "127.0.0.1");
    await new Promise((r) => blocker.once("listening", r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const { code, stderr } = await runServerExpectingExit({ PORT: String(port) });
      expect(code).toBe(1);
      expect(stderr).toMatch(/^PreqStation could not start: .*EADDRINUSE/m);
    } finally {
      blocker.close();
    }
  });

  it("creates its data folder, database and a 0600 session secret, and logs nothing secret", async () => {
    const dir = path.join(tempDir(), "nested", "data");
    const started = performance.now();
    const server = await startServer({ dir });
    try {
      const res = await fetch(`${server.url}/api/health`);
      expect(res.status).toBe(200);
      const ms = performance.now() - started;
      console.info(`start-up to first /api/health 200: ${Math.round(ms)} ms`);
      expect(fs.statSync(path.join(dir, "session-secret")).mode & 0o777).toBe(0o600);
      expect(fs.statSync(server.dbPath).mode & 0o777).toBe(0o600);
      const secret = fs.readFileSync(path.join(dir, "session-secret"), "utf8").trim();
      const cookie = await setupOwner(server);
      const out = server.output();
      expect(out).toMatch(/^Setup code: [A-Z2-9]{5}-[A-Z2-9]{5}-[A-Z2-9]{5}$/m);
      expect(out).not.toContain(secret);
      expect(out).not.toContain(cookie.slice("session=".length));
      expect(out).not.toContain("correct horse battery staple");
      for (const line of out.split("\n").filter((l) => l.startsWith("{"))) {
        expect(() => JSON.parse(line), line).not.toThrow();
      }
    } finally {
      await server.stop();
    }
  });

  it("prints no setup code once an owner exists, and a new one at each start before that", async () => {
    const dir = tempDir();
    const first = await startServer({ dir });
    await first.stop();
    const second = await startServer({ dir });
    try {
      expect(first.setupCode).not.toBeNull();
      expect(second.setupCode).not.toBeNull();
      expect(second.setupCode).not.toBe(first.setupCode);
      await setupOwner(second);
    } finally {
      await second.stop();
    }
    const third = await startServer({ dir });
    await third.stop();
    expect(third.setupCode).toBeNull();
    expect(third.output()).not.toContain("Setup code");
  });
});

describe("responses", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("sends the security headers and a per-request CSP nonce on every script of a page", async () => {
    const pages = await Promise.all([fetch(`${server.url}/setup`), fetch(`${server.url}/setup`)]);
    const nonces: string[] = [];
    for (const res of pages) {
      expect(res.status).toBe(200);
      const csp = res.headers.get("content-security-policy")!;
      const nonce = /script-src 'self' 'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
      expect(nonce).toBeDefined();
      nonces.push(nonce!);
      expect(csp).not.toContain("unsafe-inline");
      expect(csp).not.toContain("unsafe-eval");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("referrer-policy")).toBe("same-origin");
      expect(res.headers.get("cross-origin-opener-policy")).toBe("same-origin");
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
      const html = await res.text();
      const scripts = html.match(/<script\b[^>]*>/g) ?? [];
      expect(scripts.length).toBeGreaterThan(0);
      for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);
    }
    expect(nonces[0]).not.toBe(nonces[1]);
  });

  it("answers unknown API paths with a fixed JSON 404 that does not echo the path", async () => {
    const res = await fetch(`${server.url}/api/%3Cscript%3Ealert(1)%3C%2Fscript%3E`);
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toContain("application/json");
    const body = await res.text();
    expect(JSON.parse(body)).toEqual({ error: { code: "NOT_FOUND", message: expect.any(String) } });
    expect(body).not.toMatch(/script|alert/i);
  });

  it("answers a wrong method on /api/health with 405 and Allow", async () => {
    const res = await fetch(`${server.url}/api/health`, { method: "POST" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toContain("GET");
    expect(await res.json()).toEqual({ error: { code: "METHOD_NOT_ALLOWED", message: expect.any(String) } });
  });

  it("answers a malformed Host header with 400, not 500", async () => {
    const statusLine = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(server.port, "127.0.0.1", () =>
        socket.write("GET /login HTTP/1.1\r\nHost: [::bad\r\nConnection: close\r\n\r\n"),
      );
      let out = "";
      socket.setEncoding("latin1").on("data", (d: string) => (out += d));
      socket.once("close", () => resolve(out.split("\r\n")[0]!));
      socket.once("error", reject);
    });
    expect(statusLine).toMatch(/^HTTP\/1\.1 400/);
  });

  it("never answers a same-origin form post with a 500, whatever X-Forwarded-Host or the Host's letter case say", async () => {
    const spoofed = await fetch(`${server.url}/setup`, {
      method: "POST",
      redirect: "manual",
      headers: {
        Origin: server.origin,
        "X-Forwarded-Host": "elsewhere.example",
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: "setup_code=WRONG",
    });
    expect(spoofed.status).toBe(400);
    const body = "setup_code=WRONG";
    const statusLine = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(server.port, "127.0.0.1", () =>
        socket.write(
          `POST /setup HTTP/1.1\r\nHost: LOCALHOST:${server.port}\r\nOrigin: http://localhost:${server.port}\r\n` +
            `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
        ),
      );
      let out = "";
      socket.setEncoding("latin1").on("data", (d: string) => (out += d));
      socket.once("close", () => resolve(out.split("\r\n")[0]!));
      socket.once("error", reject);
    });
    expect(statusLine).toMatch(/^HTTP\/1\.1 400/);
  });

  it("answers only GET, HEAD and POST on pages, with 405 and Allow for anything else", async () => {
    for (const method of ["PUT", "PATCH", "DELETE", "OPTIONS"]) {
      for (const path of ["/settings/sessions", "/settings/api-keys", "/logout", "/"]) {
        const res = await fetch(`${server.url}${path}`, { method, headers: { Origin: server.origin } });
        expect(res.status, `${method} ${path}`).toBe(405);
        expect(res.headers.get("allow")).toBe("GET, HEAD, POST");
      }
    }
    expect((await fetch(`${server.url}/login`, { method: "HEAD", redirect: "manual" })).status).toBe(302); // no owner yet: to /setup
  });

  it("answers a path with no page with a 404 page, without logging it as an error", async () => {
    const res = await fetch(`${server.url}/no-such-page/%00`);
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("Page not found");
    const requestId = res.headers.get("x-request-id")!;
    await new Promise((r) => setTimeout(r, 100));
    expect(server.output()).not.toContain(requestId);
  });

  it("refuses a page body over 1 MiB before reading it", async () => {
    const res = await fetch(`${server.url}/login`, {
      method: "POST",
      headers: { Origin: server.origin, "Content-Type": "application/x-www-form-urlencoded" },
      body: `email=${"a".repeat(1024 * 1024 + 1)}`,
    });
    expect(res.status).toBe(413);
  });
});

describe("health", () => {
  it("answers 503 with ok:false when the database cannot be read", async () => {
    const server = await startServer();
    try {
      expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
      // Overwrite the database, its WAL and its shared-memory index in place (the server
      // keeps them open): SQLite notices the change and finds no database to read.
      for (const file of [server.dbPath, `${server.dbPath}-wal`, `${server.dbPath}-shm`]) {
        if (!fs.existsSync(file)) continue;
        const size = fs.statSync(file).size;
        const fd = fs.openSync(file, "r+");
        fs.writeSync(fd, Buffer.alloc(size, 0x55), 0, size, 0);
        fs.closeSync(fd);
      }
      const res = await fetch(`${server.url}/api/health`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ ok: false, service: "preqstation" });
      // the failure is logged as one JSON line carrying the response's request id
      const requestId = res.headers.get("x-request-id")!;
      const loggedFor = () =>
        server
          .output()
          .split("\n")
          .filter((line) => line.startsWith("{"))
          .map((line) => JSON.parse(line) as { level: string; requestId?: string })
          .filter((entry) => entry.requestId === requestId);
      // The log line comes through the server's stdout pipe, which may lag the HTTP response.
      const deadline = Date.now() + 3_000;
      while (loggedFor().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      const logged = loggedFor();
      expect(logged.length).toBeGreaterThan(0);
      expect(logged[0]!.level).toBe("error");
    } finally {
      await server.stop("SIGKILL");
    }
  });
});

describe("graceful shutdown", () => {
  it("finishes a request in flight on SIGTERM, refuses new connections, and exits 0", async () => {
    const server = await startServer();
    try {
      const socket = net.connect(server.port, "127.0.0.1");
      await new Promise((r) => socket.once("connect", r));
      let response = "";
      socket.setEncoding("utf8").on("data", (d: string) => (response += d));
      const body = "email=owner%40example.com&password=some+password+here";
      socket.write(
        `POST /login HTTP/1.1\r\nHost: ${server.url.slice(7)}\r\nOrigin: ${server.origin}\r\n` +
          `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
      );
      await new Promise((r) => setTimeout(r, 300));
      const exited = server.stop("SIGTERM");
      for (let waited = 0; !server.output().includes('"msg":"shutting down"') && waited < 10_000; waited += 50) {
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 200));
      expect(server.child.exitCode).toBeNull(); // still waiting for our request
      await expect(fetch(`${server.url}/api/health`)).rejects.toThrow(); // but not accepting new ones
      const closed = new Promise((r) => socket.once("close", r));
      socket.write(body.slice(10));
      const code = await exited;
      await closed;
      expect(response).toMatch(/^HTTP\/1\.1 (302|400|401) /);
      expect(code).toBe(0);
      expect(server.output()).toContain('"msg":"stopped"');
    } finally {
      await server.stop("SIGKILL");
    }
  });
});
