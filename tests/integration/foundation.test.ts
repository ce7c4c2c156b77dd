import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "../support/server";
import { getPage, postForm, setupOwner, signIn } from "../support/http";

describe("the production server from a fresh database", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("prints a setup code on a line of its own while no owner exists", () => {
    expect(server.setupCode).toMatch(/^[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}$/);
  });

  it("answers /api/health with the service and version", async () => {
    const res = await fetch(`${server.url}/api/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, service: "preqstation", version: expect.any(String) });
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("sends API JSON in one piece with its Content-Length, and no CSP nonce", async () => {
    const res = await fetch(`${server.url}/api/nope`);
    const body = await res.text();
    expect(res.status).toBe(404);
    expect(res.headers.get("content-length")).toBe(String(Buffer.byteLength(body)));
    expect(res.headers.get("transfer-encoding")).toBeNull();
    expect(res.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'; base-uri 'none'");
  });

  it("creates the owner with the setup code and then answers /setup with 404", async () => {
    const cookie = await setupOwner(server);
    expect(cookie).toMatch(/^session=/);
    expect((await getPage(server, "/setup")).status).toBe(404);
    const again = await postForm(server, "/setup", {
      setup_code: server.setupCode!,
      email: "x@example.com",
      password: "another long password",
      password_confirm: "another long password",
    });
    expect(again.status).toBe(404);
    expect((await signIn(server)).startsWith("session=")).toBe(true);
  });

  it("tells server time only to the signed-in owner, never to anonymous or API callers", async () => {
    const cookie = await signIn(server);
    const page = await getPage(server, "/settings/api-keys", cookie);
    expect(page.status).toBe(200);
    expect(page.headers.get("server-timing")).toMatch(/^app;dur=\d+(\.\d+)?$/);
    expect((await getPage(server, "/login")).headers.get("server-timing")).toBeNull();
    expect(
      (await postForm(server, "/login", { email: "nobody@example.com", password: "wrong password!!" })).headers.get(
        "server-timing",
      ),
    ).toBeNull();
    expect(
      (await fetch(`${server.url}/api/me`, { headers: { Authorization: "Bearer preq_" + "a".repeat(32) } })).headers.get(
        "server-timing",
      ),
    ).toBeNull();
  });
});
