import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OWNER_EMAIL, OWNER_PASSWORD } from "../support/http";
import {
  connectionRefused,
  openSocket,
  prepareApi,
  queryDb,
  request,
  RESILIENCE_ENV,
  safeWrite,
  sleep,
  waitForExit,
} from "../support/resilience";
import { startServer, type TestServer } from "../support/server";

describe("SIGTERM", () => {
  let server: TestServer;
  let token: string;
  let projectKey: string;
  beforeAll(async () => {
    server = await startServer({ env: RESILIENCE_ENV });
    ({ token, projectKey } = await prepareApi(server));
  });
  afterAll(async () => {
    await server?.stop("SIGKILL");
    if (server?.dir) fs.rmSync(server.dir, { recursive: true, force: true });
  });

  it("lets in-flight requests finish, refuses new connections, and exits 0 within 10 s", async () => {
    // A sign-in whose body arrives slowly: in flight when the signal comes.
    const body = new URLSearchParams({ email: OWNER_EMAIL, password: OWNER_PASSWORD }).toString();
    const slow = await openSocket(server);
    safeWrite(
      slow.socket,
      `POST /login HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nOrigin: ${server.origin}\r\n` +
        `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
    );
    // A task creation whose JSON body arrives slowly, also in flight.
    const task = JSON.stringify({ title: "Created while the server shut down", project_key: projectKey });
    const slowApi = await openSocket(server);
    safeWrite(
      slowApi.socket,
      `POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nAuthorization: Bearer ${token}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${task.length}\r\n\r\n${task.slice(0, 12)}`,
    );
    // Three more requests in flight on their own connections.
    const concurrent = [0, 1, 2].map(() => request(server, { path: "/login" }));
    await sleep(200);

    const exited = waitForExit(server, 10_000);
    server.child.kill("SIGTERM");
    await sleep(300);

    expect(await connectionRefused(server.port)).toBe(true);

    // The rest of the body, a second later: the server is still there for it.
    await sleep(1_000);
    safeWrite(slow.socket, body.slice(10));
    safeWrite(slowApi.socket, task.slice(12));
    const created = await slowApi.closed;
    expect(created.received.slice(0, 13)).toBe("HTTP/1.1 201 ");
    expect(created.received).toMatch(/"title":"Created while the server shut down"/);
    const { received, byServer } = await slow.closed;
    expect(received.slice(0, 13)).toBe("HTTP/1.1 302 ");
    expect(received).toMatch(/^location: \/tasks$/im);
    expect(received).toMatch(/^set-cookie: session=/im);
    expect(byServer).toBe(true);

    for (const res of await Promise.all(concurrent)) expect(res.status).toBe(200);

    const { code, signal, afterMs } = await exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(afterMs).toBeLessThan(10_000);
    expect(server.output()).toMatch(/"msg":"stopped"/);
    // The write that was in flight is on disk.
    expect(
      queryDb(server.dbPath, "select task_key from tasks where title = ?", "Created while the server shut down"),
    ).toHaveLength(1);
  });
});
