import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setupOwner } from "../support/http";
import { openSocket, probeHealth, request, safeWrite, sleep, type WatchedSocket } from "../support/resilience";
import { startServer, type TestServer } from "../support/server";

// app/server/start.server.ts sets headersTimeout 10 s and requestTimeout 30 s, and has Node check them
// every second (`connectionsCheckingInterval`; Node's default sweep is every 30 s), so a
// stalled connection is cut within about a second of its timeout. 5 s of slack for a
// loaded machine.
const HEADERS_CUTOFF_MS = 10_000 + 1_000 + 5_000;
const BODY_CUTOFF_MS = 30_000 + 1_000 + 5_000;
const IDLE_CONNECTIONS = 1_000;

describe("hostile clients", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
    await setupOwner(server);
  });
  afterAll(async () => {
    await server?.stop("SIGKILL");
    if (server?.dir) fs.rmSync(server.dir, { recursive: true, force: true });
  });

  it("answers an oversized header block with 431 and keeps serving", async () => {
    const res = await request(server, { path: "/api/health", headers: { "X-Padding": "a".repeat(20 * 1024) } });
    expect(res.status).toBe(431);
    expect((await request(server, { path: "/api/health" })).status).toBe(200);
  });

  it(
    "keeps answering /api/health within 1 s through slowloris, a body that never finishes and 1 000 idle connections, and cuts all of them off",
    async () => {
      const probe = probeHealth(server, 200);
      const sockets: { kind: string; s: WatchedSocket }[] = [];
      const trickles: NodeJS.Timeout[] = [];
      try {
        // 1 000 connections that never send a byte.
        for (let i = 0; i < IDLE_CONNECTIONS; i += 1) sockets.push({ kind: "idle", s: await openSocket(server) });

        // 20 slowloris clients: a request line, then one header line every 500 ms, never the blank line.
        for (let i = 0; i < 20; i += 1) {
          const s = await openSocket(server);
          safeWrite(s.socket, "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n");
          let n = 0;
          trickles.push(setInterval(() => safeWrite(s.socket, `X-Slow-${n++}: ${"z".repeat(8)}\r\n`), 500));
          sockets.push({ kind: "slowloris", s });
        }

        // 10 form posts that declare 100 000 bytes, send a few, and then stall forever
        // (same-origin, so the sign-in action really waits for the body).
        for (let i = 0; i < 10; i += 1) {
          const s = await openSocket(server);
          safeWrite(
            s.socket,
            `POST /login HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nOrigin: ${server.origin}\r\n` +
              "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nemail=owner%40example.com&password=",
          );
          sockets.push({ kind: "unfinished-body", s });
        }

        // Everything above is cut off by the server on its own, while health keeps answering.
        const results = await Promise.all(
          sockets.map(async ({ kind, s }) => {
            const limit = kind === "unfinished-body" ? BODY_CUTOFF_MS : HEADERS_CUTOFF_MS;
            const outcome = await Promise.race([s.closed, sleep(limit).then(() => null)]);
            return { kind, outcome };
          }),
        );
        const byKind = (kind: string) => results.filter((r) => r.kind === kind);
        for (const kind of ["idle", "slowloris", "unfinished-body"]) {
          const stillOpen = byKind(kind).filter((r) => r.outcome === null).length;
          const closedByServer = byKind(kind).filter((r) => r.outcome?.byServer).length;
          expect({ kind, stillOpen, closedByServer }).toEqual({ kind, stillOpen: 0, closedByServer: byKind(kind).length });
        }
        // Slowloris clients are told why (408 Request Timeout). An unfinished body ends in a
        // 4xx: Node's 408, or the page's own 400 once the aborted body reaches the form parser.
        for (const r of byKind("slowloris")) expect(r.outcome!.received.slice(0, 13)).toBe("HTTP/1.1 408 ");
        for (const r of byKind("unfinished-body")) expect(r.outcome!.received).toMatch(/^HTTP\/1\.1 4\d\d /);
      } finally {
        trickles.forEach(clearInterval);
        for (const { s } of sockets) s.close();
      }
      const samples = await probe.stop();
      expect(samples.length).toBeGreaterThan(20);
      const failed = samples.filter((s) => s.status !== 200 || s.ms > 1_000);
      expect(failed).toEqual([]);
      expect(server.child.exitCode).toBeNull();
      expect((await request(server, { path: "/api/health" })).status).toBe(200);
    },
    BODY_CUTOFF_MS + 30_000,
  );
});
