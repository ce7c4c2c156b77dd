import path from "node:path";
import { pathToFileURL } from "node:url";
import type { ServerBuild } from "@remix-run/node";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createAppHandler, type AppHandler, type RequestHead } from "~/server/handler.server";
import { MAX_BODY_BYTES } from "~/lib/http/body.server";
import { loadStaticFilesFromDir, type StaticFiles } from "~/server/runtime/static-files.server";
import { testServices, type TestServices } from "../support/kit";
import { ROOT } from "../support/server";

// The request handler in-process, no port: the real Remix build (the vitest global setup
// builds it), the real client files, Services on a temp SQLite file.
let build: ServerBuild;
let staticFiles: StaticFiles;
beforeAll(async () => {
  build = (await import(pathToFileURL(path.join(ROOT, "build/server/index.js")).href)) as ServerBuild;
  staticFiles = loadStaticFilesFromDir(path.join(ROOT, "build/client"));
});

let services: TestServices;
let app: AppHandler;
beforeEach(async () => {
  services = await testServices();
  app = createAppHandler(services, build, staticFiles);
});

const client = { address: "203.0.113.9", family: "IPv4", port: 50_000 } as const;
const head = (overrides: Partial<RequestHead> = {}): RequestHead => ({
  method: "GET",
  target: "/api/health",
  host: "localhost:3000",
  forwardedHost: undefined,
  forwardedProto: undefined,
  encrypted: false,
  ...overrides,
});

function expectSecurityHeaders(res: Response) {
  expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  expect(res.headers.get("x-frame-options")).toBe("DENY");
  expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
}

describe("the request handler, in-process", () => {
  it("answers GET /api/health 200 with the API's script-free policy and no timing", async () => {
    const res = await app.handle(new Request("http://localhost:3000/api/health"), client);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, service: "preqstation" });
    expectSecurityHeaders(res);
    expect(res.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'; base-uri 'none'");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.has("server-timing")).toBe(false);
    expect(res.headers.has("strict-transport-security")).toBe(false);
  });

  it("refuses a request whose Host is not hostname[:port] with a 400 before any Request is built", async () => {
    const verdict = app.admit(head({ host: "evil.example/path" }));
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.response.status).toBe(400);
    expect(await verdict.response.text()).toBe("Bad Request");
    expectSecurityHeaders(verdict.response);
  });

  it("refuses an absolute-form target with a 400 and admits a valid origin as given", () => {
    const absolute = app.admit(head({ target: "http://other.example/api/health" }));
    expect(absolute.ok || absolute.response.status).toBe(400);
    expect(app.admit(head())).toEqual({ ok: true, protocol: "http:", host: "localhost:3000" });
    // X-Forwarded-Host is ignored without TRUST_PROXY
    expect(app.admit(head({ forwardedHost: "proxy.example" }))).toEqual({ ok: true, protocol: "http:", host: "localhost:3000" });
  });

  it("refuses TRACE with 405 before a Request exists (the API's error shape under /api)", async () => {
    const verdict = app.admit(head({ method: "TRACE" }));
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.response.status).toBe(405);
    expect(verdict.response.headers.get("allow")).toBe("GET, HEAD, POST, PATCH, DELETE");
    expect(await verdict.response.json()).toEqual({
      error: { code: "METHOD_NOT_ALLOWED", message: "Method TRACE is not allowed" },
    });
  });

  it("answers a page asked with PUT 405 with Allow: GET, HEAD, POST and a nonce policy", async () => {
    const res = await app.handle(new Request("http://localhost:3000/login", { method: "PUT" }), client);
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD, POST");
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("content-security-policy")).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]{24}'/);
  });

  it("serves a page with the script nonce of its own CSP header", async () => {
    // No owner yet: the setup page.
    const res = await app.handle(new Request("http://localhost:3000/setup"), client);
    expect(res.status).toBe(200);
    const nonce = /'nonce-([^']+)'/.exec(res.headers.get("content-security-policy") ?? "")?.[1];
    expect(nonce).toBeTruthy();
    expect(await res.text()).toContain(`nonce="${nonce}"`);
  });

  it("serves a static file from memory with its type and cache lifetime", async () => {
    const res = await app.handle(new Request("http://localhost:3000/plain.css"), client);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("public, max-age=3600");
    expectSecurityHeaders(res);
  });

  it("answers a declared body over the ceiling 413 without reading it", async () => {
    const res = await app.handle(
      new Request("http://localhost:3000/api/projects", {
        method: "POST",
        headers: { "Content-Length": String(MAX_BODY_BYTES + 1) },
      }),
      client,
    );
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: "PAYLOAD_TOO_LARGE" } });
  });

  it("blocks a cross-site form POST with 403 and records it against the socket's address", async () => {
    const res = await app.handle(
      new Request("http://localhost:3000/login", {
        method: "POST",
        headers: {
          Origin: "https://evil.example",
          "Content-Type": "application/x-www-form-urlencoded",
          "X-Forwarded-For": "198.51.100.1",
        },
        body: "email=a%40b.c&password=x",
      }),
      client,
    );
    expect(res.status).toBe(403);
    const events = await services.db.selectFrom("security_events").select(["type", "ip", "path"]).execute();
    expect(events).toEqual([{ type: "csrf_blocked", ip: "203.0.113.9", path: "/login" }]);
  });
});
