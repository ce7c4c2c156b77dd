/**
 * What a client controls about how its request is routed and attributed, against the
 * production server: the Host and X-Forwarded-Host headers (never the routed path), the
 * client IP behind a proxy (only the proxy's own X-Forwarded-For entry, without a port),
 * and probes that once answered 500 with a stack in the log.
 */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OWNER_EMAIL, postForm, setupOwner } from "../support/http";
import { ROOT, startServer, type TestServer } from "../support/server";

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends `head` (request line and headers, without the blank line) on its own connection, byte for byte. */
function raw(server: TestServer, head: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.port, "127.0.0.1", () => socket.write(`${head}\r\nConnection: close\r\n\r\n`));
    let out = "";
    socket.setEncoding("latin1").on("data", (d: string) => (out += d));
    socket.setTimeout(10_000, () => socket.destroy(new Error("timed out")));
    socket.once("error", reject);
    socket.once("close", () => {
      const [top, ...rest] = out.split("\r\n\r\n");
      const [statusLine, ...lines] = (top ?? "").split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const i = line.indexOf(":");
        headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? "")?.[1] ?? 0), headers, body: rest.join("\r\n\r\n") });
    });
  });
}

function expectSecurityHeaders(res: RawResponse, what: string) {
  expect(res.headers["x-request-id"], what).toMatch(/^[0-9a-f-]{36}$/);
  expect(res.headers["content-security-policy"], what).toContain("frame-ancestors 'none'");
  expect(res.headers["x-content-type-options"], what).toBe("nosniff");
  expect(res.headers["x-frame-options"], what).toBe("DENY");
  expect(res.headers["cache-control"], what).toBe("no-store");
}

const anAsset = () => fs.readdirSync(path.join(ROOT, "build/client/assets")).find((f) => f.endsWith(".js"))!;

describe("the Host header", () => {
  let server: TestServer;
  let cookie: string;
  beforeAll(async () => {
    server = await startServer();
    cookie = await setupOwner(server);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("cannot choose the routed path: a Host carrying a path is a 400, never the API Keys page", async () => {
    const res = await raw(
      server,
      `GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:${server.port}/settings/api-keys?\r\nCookie: ${cookie}`,
    );
    expect(res.status).toBe(400);
    expect(res.body).not.toMatch(/API keys/i);
    expectSecurityHeaders(res, "bad host");
    // the same request with a plain Host is the health check
    const ok = await raw(server, `GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nCookie: ${cookie}`);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ ok: true });
  });

  it("accepts hostname[:port] in every usual form, and refuses anything else before routing", async () => {
    for (const host of [
      `localhost:${server.port}`,
      "localhost",
      `[::1]:${server.port}`,
      "preq.example.com",
      "preq.example.com:443",
    ]) {
      expect((await raw(server, `GET /api/health HTTP/1.1\r\nHost: ${host}`)).status, host).toBe(200);
    }
    for (const host of [`x/${anAsset()}?`, "x?y", "x#y", "a..b", "x:99999", "x:", "[::1"]) {
      const res = await raw(server, `GET /login HTTP/1.1\r\nHost: ${host}`);
      expect(res.status, host).toBe(400);
      expect(res.headers["cache-control"], host).toBe("no-store");
    }
  });

  it("takes the routed path from the request line only: an absolute-form target is a 400", async () => {
    expect(
      (
        await raw(
          server,
          `GET http://127.0.0.1:${server.port}/settings/api-keys HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nCookie: ${cookie}`,
        )
      ).status,
    ).toBe(400);
  });

  it("ignores X-Forwarded-Host without TRUST_PROXY", async () => {
    const res = await raw(
      server,
      `GET /login HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nX-Forwarded-Host: x/assets/${anAsset()}?`,
    );
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toContain("text/html");
  });
});

describe("client errors that used to be 500s with a stack trace in the log", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("answers TRACE, a Host with credentials and a ?_data request with a 4xx carrying the security headers and a request id, logging no error", async () => {
    const before = server.output().length;
    const trace = await raw(server, `TRACE / HTTP/1.1\r\nHost: 127.0.0.1:${server.port}`);
    expect(trace.status).toBe(405);
    expect(trace.headers.allow).toBe("GET, HEAD, POST");
    expectSecurityHeaders(trace, "TRACE");
    const traceApi = await raw(server, `TRACE /api/health HTTP/1.1\r\nHost: 127.0.0.1:${server.port}`);
    expect(traceApi.status).toBe(405);
    expect(JSON.parse(traceApi.body)).toMatchObject({ error: { code: "METHOD_NOT_ALLOWED" } });
    expectSecurityHeaders(traceApi, "TRACE /api");

    const credentials = await raw(server, "GET /login HTTP/1.1\r\nHost: user:pw@x");
    expect(credentials.status).toBe(400);
    expectSecurityHeaders(credentials, "Host with credentials");

    const data = await raw(server, `GET /login?_data=routes%2Flogin HTTP/1.1\r\nHost: 127.0.0.1:${server.port}`);
    expect(data.status).toBe(400);
    expectSecurityHeaders(data, "?_data");

    await new Promise((r) => setTimeout(r, 200));
    const log = server.output().slice(before);
    expect(log).not.toContain('"level":"error"');
    expect(log).not.toMatch(/\n\s+at /);
    expect(log).not.toContain("stack");
  });

  it("sends Remix's own console lines through the JSON logger: a bad percent-encoding is a 404 and no raw path reaches the log", async () => {
    const before = server.output().length;
    for (const p of ["/no-such/%E0%A4%A/MARKER-ONE", "/tasks/%ff", "/api/%E0%A4%A"]) {
      const res = await raw(server, `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}`);
      expect(res.status, p).toBe(404);
      expect(res.headers["x-request-id"], p).toBeDefined();
    }
    await new Promise((r) => setTimeout(r, 200));
    const log = server.output().slice(before);
    for (const line of log.split("\n").filter(Boolean)) {
      expect(() => JSON.parse(line), line).not.toThrow();
    }
    expect(log).not.toContain("MARKER-ONE");
  });
});

describe("behind a proxy (TRUST_PROXY=true)", () => {
  let server: TestServer;
  beforeAll(async () => {
    // The shared budget for browsers without a device cookie is raised: this block measures the per-address limit.
    server = await startServer({ env: { TRUST_PROXY: "true", LOGIN_UNTRUSTED_RATE_LIMIT: "1000/15m" } });
    await setupOwner(server);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("refuses an X-Forwarded-Host that carries a path, rather than answering as a cacheable asset", async () => {
    const asset = anAsset();
    const res = await raw(
      server,
      `GET /login HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nX-Forwarded-Host: preq.example.com/assets/${asset}?`,
    );
    expect(res.status).toBe(400);
    expect(res.headers["cache-control"]).toBe("no-store");
    expectSecurityHeaders(res, "bad X-Forwarded-Host");
    // the asset itself is still served, and a valid forwarded host routes as usual
    expect(
      (await raw(server, `GET /assets/${asset} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}`)).headers["cache-control"],
    ).toContain("immutable");
    const ok = await raw(server, `GET /login HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nX-Forwarded-Host: preq.example.com`);
    expect(ok.status).toBe(200);
    expect(ok.headers["content-type"]).toContain("text/html");
  });

  it("takes the public origin from the proxy's X-Forwarded-Host and -Proto for the same-origin check", async () => {
    const headers = { "X-Forwarded-Host": "preq.example.com", "X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.200" };
    const same = await postForm(
      server,
      "/login",
      { email: OWNER_EMAIL, password: "a wrong guess" },
      { headers: { ...headers, Origin: "https://preq.example.com" } },
    );
    expect(same.status).toBe(401);
    expect(same.headers.get("strict-transport-security")).toBe("max-age=31536000");
    const foreign = await postForm(
      server,
      "/login",
      { email: OWNER_EMAIL, password: "a wrong guess" },
      { headers: { ...headers, Origin: `http://127.0.0.1:${server.port}` } },
    );
    expect(foreign.status).toBe(403);
  });

  it("counts 25 wrong sign-ins from one address as one client, whatever ports, Forwarded or client-written entries say", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) {
      const forwardedFor = i % 2 === 0 ? `203.0.113.${i}, 198.51.100.9:${40_000 + i}` : `198.51.100.9:${50_000 + i}`;
      const res = await postForm(
        server,
        "/login",
        { email: OWNER_EMAIL, password: `wrong guess ${i}` },
        {
          headers: { "X-Forwarded-For": forwardedFor, Forwarded: `for="203.0.113.${i}:1"` },
        },
      );
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401)); // LOGIN_RATE_LIMIT's default, 10/15m
    expect(statuses.slice(10)).toEqual(Array(15).fill(429));

    // an IPv6 client's /64 with ports is one bucket too
    const v6: number[] = [];
    for (let i = 0; i < 11; i++) {
      const res = await postForm(
        server,
        "/login",
        { email: OWNER_EMAIL, password: "wrong" },
        { headers: { "X-Forwarded-For": `[2001:db8::${i + 1}]:${1000 + i}` } },
      );
      v6.push(res.status);
    }
    expect(v6).toEqual([...Array(10).fill(401), 429]);
    // an unusable last entry falls back to the socket's address, never to the client-written entry before it
    await postForm(
      server,
      "/login",
      { email: OWNER_EMAIL, password: "wrong" },
      { headers: { "X-Forwarded-For": "198.51.100.77, unknown" } },
    );

    const db = new Database(server.dbPath, { readonly: true });
    const ips = (
      db.prepare("select distinct ip from security_events where type in ('login', 'login_throttled')").all() as { ip: string }[]
    ).map((r) => r.ip);
    db.close();
    expect(ips).toContain("198.51.100.9");
    expect(ips).toContain("2001:db8::1");
    expect(ips).toContain("127.0.0.1");
    for (const ip of ips) {
      expect(ip).not.toMatch(/^203\.0\.113\.|^198\.51\.100\.77$|\]|^\d+\.\d+\.\d+\.\d+:/);
    }
  });
});
