/**
 * A keep-alive connection outlives a refused body: after a 413 (declared or streamed),
 * the same connection carries the client's next requests, back to back and after
 * pauses, as an HTTP client pool (node's http.Agent, undici's fetch) expects.
 */
import fs from "node:fs";
import http from "node:http";
import type net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prepareApi, RESILIENCE_ENV, sleep } from "../support/resilience";
import { startServer, type TestServer } from "../support/server";

interface Answer {
  status: number;
  reused: boolean;
  socket: net.Socket;
  body: string;
}

describe("keep-alive after a refused body", () => {
  let server: TestServer;
  let token: string;
  let agent: http.Agent;
  beforeAll(async () => {
    server = await startServer({ env: RESILIENCE_ENV });
    ({ token } = await prepareApi(server, "KA"));
  });
  afterAll(async () => {
    agent?.destroy();
    await server?.stop("SIGKILL");
    if (server?.dir) fs.rmSync(server.dir, { recursive: true, force: true });
  });

  /** One request through a one-socket keep-alive pool; rejects on a reset or after 4 s without an answer. */
  function send(options: {
    method?: string;
    path: string;
    body?: string | Buffer[];
    headers?: Record<string, string>;
  }): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port: server.port,
          method: options.method ?? "GET",
          path: options.path,
          agent,
          headers: {
            Authorization: `Bearer ${token}`,
            ...(typeof options.body === "string"
              ? { "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(options.body)) }
              : {}),
            ...(Array.isArray(options.body) ? { "Content-Type": "application/json" } : {}), // chunked: no length
            ...options.headers,
          },
        },
        (res) => {
          let body = "";
          res.setEncoding("utf8").on("data", (d: string) => (body += d));
          res.on("end", () => resolve({ status: res.statusCode!, reused: req.reusedSocket, socket: req.socket!, body }));
        },
      );
      req.setTimeout(4_000, () => req.destroy(new Error(`no answer to ${options.path} within 4 s`)));
      req.on("error", reject);
      if (Array.isArray(options.body)) {
        for (const chunk of options.body) req.write(chunk);
        req.end();
      } else req.end(options.body);
    });
  }

  it.each([
    ["declared (Content-Length) 1.1 MB", () => JSON.stringify({ title: "x", description: "y".repeat(1_100_000) })],
    ["chunked 2 MB", () => Array.from({ length: 32 }, () => Buffer.alloc(64 * 1024, 0x61))],
  ])("answers a 413 for a %s body, then every request on the same connection, back to back and after pauses", async (_, body) => {
    agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const refused = await send({ method: "POST", path: "/api/tasks", body: body() });
    expect(refused.status).toBe(413);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: "PAYLOAD_TOO_LARGE" } });

    const answers: Answer[] = [];
    for (let i = 0; i < 5; i++) answers.push(await send({ path: "/api/health" }));
    await sleep(1_000);
    answers.push(await send({ path: "/api/me" }));
    await sleep(2_500); // longer than the discard's own time bound (2 s)
    answers.push(await send({ path: "/api/health" }));
    answers.push(
      await send({ method: "POST", path: "/api/tasks", body: JSON.stringify({ title: "after a 413", project_key: "KA" }) }),
    );

    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
    // every one of them on the connection that carried the 413: none was reset and reopened
    for (const a of answers) {
      expect(a.reused).toBe(true);
      expect(a.socket).toBe(refused.socket);
    }
    agent.destroy();
  });

  it("does the same for undici's fetch, whose pool reuses the connection by default", async () => {
    const url = `http://127.0.0.1:${server.port}`;
    const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
    const refused = await fetch(`${url}/api/tasks`, {
      method: "POST",
      headers,
      body: JSON.stringify({ title: "x", description: "y".repeat(1_100_000) }),
    });
    expect(refused.status).toBe(413);
    await refused.text();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      if (i === 3) await sleep(1_500);
      const res = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(4_000) });
      statuses.push(res.status);
      await res.text();
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
  });

  it("still closes a connection whose refused body goes on past the discard bound", async () => {
    agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const socketClosed = new Promise<void>((resolve, reject) => {
      const req = http.request({
        host: "127.0.0.1",
        port: server.port,
        method: "POST",
        path: "/api/tasks",
        agent,
        headers: {
          Authorization: `Bearer ${token}`,
          "Content-Type": "application/json",
          "Content-Length": String(64 * 1024 * 1024),
        },
      });
      req.on("error", () => resolve()); // the server cut the upload off
      req.on("response", (res) => {
        expect(res.statusCode).toBe(413);
        res.resume();
      });
      req.on("close", () => resolve());
      const chunk = Buffer.alloc(256 * 1024, 0x61);
      let sent = 0;
      const pump = () => {
        while (sent < 64 * 1024 * 1024 && !req.destroyed) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once("drain", pump);
        }
      };
      pump();
      setTimeout(() => reject(new Error("the server kept reading a 64 MiB body it had refused")), 10_000);
    });
    await socketClosed;
    agent.destroy();
    // and it keeps serving
    const res = await fetch(`http://127.0.0.1:${server.port}/api/health`);
    expect(res.status).toBe(200);
  });
});
