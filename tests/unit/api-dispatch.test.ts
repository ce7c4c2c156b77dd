import path from "node:path";
import { pathToFileURL } from "node:url";
import type { AppLoadContext, ServerBuild } from "@remix-run/node";
import { beforeAll, describe, expect, it } from "vitest";
import { createApiDispatcher, type ApiDispatcher } from "../../app/lib/api/dispatch.server";
import { ROOT } from "../support/server";

// The real server build (the vitest global setup builds it), so the dispatcher
// is checked against the same route modules production serves.
let build: ServerBuild;
let dispatch: ApiDispatcher;
beforeAll(async () => {
  build = (await import(pathToFileURL(path.join(ROOT, "build/server/index.js")).href)) as ServerBuild;
  dispatch = createApiDispatcher(build);
});

const context = {
  services: { sqlite: { prepare: () => ({ get: () => ({}) }) }, logger: console },
  request: { id: "test", clientIp: "127.0.0.1", userAgent: "", cspNonce: "" },
} as unknown as AppLoadContext;

describe("the API dispatcher", () => {
  it("serves an API route's loader for GET without going through Remix's document pipeline", async () => {
    const res = await dispatch(new Request("http://x/api/health"), "/api/health", context);
    expect(res?.status).toBe(200);
    expect(await res?.json()).toMatchObject({ ok: true, service: "preqstation" });
  });

  it("sends other methods to the route's action", async () => {
    const res = await dispatch(new Request("http://x/api/health", { method: "POST" }), "/api/health", context);
    expect(res?.status).toBe(405);
    expect(res?.headers.get("allow")).toBe("GET, HEAD");
  });

  it("falls back to the /api splat route for unknown API paths, as Remix would", async () => {
    const res = await dispatch(new Request("http://x/api/no/such/route"), "/api/no/such/route", context);
    expect(res?.status).toBe(404);
    expect(await res?.json()).toMatchObject({ error: { code: "NOT_FOUND" } });
  });

  it("leaves pages to Remix", () => {
    expect(dispatch(new Request("http://x/login"), "/login", context)).toBeNull();
    expect(dispatch(new Request("http://x/apiary"), "/apiary", context)).toBeNull();
  });

  it("only ever dispatches to resource routes", () => {
    const withPage = {
      ...build,
      routes: {
        ...build.routes,
        "routes/api.page": { id: "routes/api.page", parentId: "root", path: "api/page", module: { default: () => null } },
      },
    } as unknown as ServerBuild;
    expect(() => createApiDispatcher(withPage)).toThrow(/resource routes/);
  });
});
