import type { AppLoadContext } from "@remix-run/node";
import { beforeEach, describe, expect, it } from "vitest";
import { apiJson } from "../../app/lib/api/errors.server";
import { ApiError, defineApiRoute, type ApiMethod, type ApiHandler } from "../../app/lib/api/route.server";
import { BodyTooLargeError, readBodyText } from "../../app/lib/http/body.server";
import { testOwner, testServices, testToken, type TestServices, noApiRoutes } from "../support/kit";

/** A method of a test route: the handler with a minimal OpenAPI operation. */
const m = (handler: ApiMethod["handler"]): ApiMethod => ({
  doc: { operationId: "test", summary: "test", responses: {}, errors: [] },
  handler,
});

let services: TestServices;
let logged: string[];
let full: string;
let read: string;
let expiring: { plaintext: string; expires: string };

beforeEach(async () => {
  logged = [];
  services = await testServices({
    logger: {
      debug: () => undefined,
      info: () => undefined,
      warn: (msg, fields) => logged.push(JSON.stringify({ msg, ...fields })),
      error: (msg, fields) => logged.push(JSON.stringify({ msg, ...fields, error: String(fields?.error) })),
    },
  });
  const owner = await testOwner(services.db);
  const make = (scope: "full" | "read", expiresInDays: number | null = null) =>
    testToken(services, scope, { owner, name: `t-${scope}`, expiresInDays });
  full = (await make("full")).plaintext;
  read = (await make("read")).plaintext;
  const e = await make("full", 7);
  expiring = { plaintext: e.plaintext, expires: e.summary.expires_at! };
});

function context(id = "req-42"): AppLoadContext {
  return { services, request: { id, clientIp: "203.0.113.1", userAgent: "agent", cspNonce: "n" }, api: noApiRoutes };
}

/** Calls the route the way Remix does: loader for GET/HEAD, action otherwise. */
function call(route: ReturnType<typeof defineApiRoute>, method: string, token?: string, body?: string, id?: string) {
  const request = new Request("http://localhost/api/thing", {
    method,
    headers: token ? { Authorization: `Bearer ${token}`, "Content-Type": "application/json" } : {},
    body,
  });
  const fn = method === "GET" || method === "HEAD" ? route.loader : route.action;
  return fn({ request, context: context(id), params: {} }) as Promise<Response>;
}

const ok: ApiHandler = ({ auth }) => apiJson({ name: auth.token.name });

describe("defineApiRoute", () => {
  it("a GET handler answers GET and HEAD with the auth headers added", async () => {
    const route = defineApiRoute("/api/test", { GET: m(ok) });
    for (const method of ["GET", "HEAD"]) {
      const res = await call(route, method, full);
      expect(res.status).toBe(200);
      expect(res.headers.get("X-RateLimit-Limit")).toBe("100");
      expect(res.headers.get("X-RateLimit-Remaining")).toMatch(/^\d+$/);
      expect(res.headers.get("X-RateLimit-Reset")).toMatch(/^\d+$/);
    }
    expect(await (await call(route, "GET", full)).json()).toEqual({ name: "t-full" });
  });

  it("an expiring token's response carries PreqStation-Token-Expiration", async () => {
    const res = await call(defineApiRoute("/api/test", { GET: m(ok) }), "GET", expiring.plaintext);
    expect(res.headers.get("PreqStation-Token-Expiration")).toBe(expiring.expires);
  });

  it("a method not in the map is a 405 with Allow, before authentication", async () => {
    const route = defineApiRoute("/api/test", { GET: m(ok), PATCH: m(ok) });
    const res = await call(route, "DELETE");
    expect(res.status).toBe(405);
    expect(res.headers.get("Allow")).toBe("GET, HEAD, PATCH");
    expect((await res.json()).error.code).toBe("METHOD_NOT_ALLOWED");
    const noGet = await call(defineApiRoute("/api/test", { POST: m(ok) }), "GET");
    expect(noGet.status).toBe(405);
    expect(noGet.headers.get("Allow")).toBe("POST");
  });

  it("writes need a full token: a read token gets 403, a full token passes", async () => {
    const route = defineApiRoute("/api/test", { POST: m(ok), PATCH: m(ok), PUT: m(ok), DELETE: m(ok) });
    for (const method of ["POST", "PATCH", "PUT", "DELETE"]) {
      const denied = await call(route, method, read, method === "DELETE" ? undefined : "{}");
      expect(denied.status).toBe(403);
      expect(await denied.json()).toEqual({ error: { code: "FORBIDDEN", message: "Insufficient permissions" } });
      expect((await call(route, method, full, method === "DELETE" ? undefined : "{}")).status).toBe(200);
    }
  });

  it("no token is the documented 401", async () => {
    const res = await call(defineApiRoute("/api/test", { GET: m(ok) }), "GET");
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: { code: "UNAUTHORIZED", message: "Missing or invalid authorization header" } });
  });

  it("a thrown ApiError becomes its error response, with details and the auth headers", async () => {
    const route = defineApiRoute("/api/test", {
      POST: m(() => {
        throw new ApiError("VALIDATION_ERROR", "Invalid body", { details: [{ path: "title", message: "Required" }] });
      }),
    });
    const res = await call(route, "POST", full, "{}");
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: { code: "VALIDATION_ERROR", message: "Invalid body", details: [{ path: "title", message: "Required" }] },
    });
    expect(res.headers.get("X-RateLimit-Limit")).toBe("100");
  });

  it("a thrown Response is returned as is", async () => {
    const route = defineApiRoute("/api/test", {
      GET: m(() => {
        throw apiJson({ custom: true }, { status: 409 });
      }),
    });
    const res = await call(route, "GET", full);
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ custom: true });
  });

  it("a body over the limit is a 413 PAYLOAD_TOO_LARGE", async () => {
    const route = defineApiRoute("/api/test", {
      POST: m(async ({ request }) => {
        await readBodyText(request, 10);
        return apiJson({});
      }),
    });
    const res = await call(route, "POST", full, JSON.stringify({ big: "x".repeat(100) }));
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe("PAYLOAD_TOO_LARGE");
    expect(new BodyTooLargeError(1)).toBeInstanceOf(Error);
  });

  it("a storage failure is a 503 SERVICE_UNAVAILABLE", async () => {
    const route = defineApiRoute("/api/test", {
      GET: m(() => {
        throw Object.assign(new Error("disk I/O error"), { code: "SQLITE_IOERR_WRITE" });
      }),
    });
    const res = await call(route, "GET", full);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      error: { code: "SERVICE_UNAVAILABLE", message: "Storage is temporarily unavailable; retry later" },
    });
  });

  it("a bug is a 500 that repeats the request id, with no stack or SQL, and is logged with the request id", async () => {
    const route = defineApiRoute("/api/test", {
      GET: m(() => {
        throw new Error("select * from secret_table where x = 'boom'");
      }),
    });
    const res = await call(route, "GET", full, undefined, "req-bug-7");
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: { code: "INTERNAL_ERROR", message: "Internal error (request id req-bug-7)" } });
    expect(text).not.toMatch(/select|secret_table|at .*\.ts/);
    expect(logged.some((l) => l.includes("req-bug-7") && l.includes("secret_table"))).toBe(true);
  });
});
