import path from "node:path";
import { pathToFileURL } from "node:url";
import type { AppLoadContext, ServerBuild } from "@remix-run/node";
import { beforeAll, describe, expect, it } from "vitest";
import { matchRoutes } from "@remix-run/router";
import { apiRoutesOf, createApiDispatcher, createRouteMatcher, type ApiDispatcher } from "../../app/lib/api/dispatch.server";
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

describe("the API route matcher", () => {
  /** What Remix's own router says for `pathname` over the same routes. */
  const remixMatch = (routes: { id: string; path: string }[], pathname: string) => {
    const match = matchRoutes(routes, pathname)?.at(-1);
    return match ? { id: match.route.id, params: match.params } : null;
  };

  /** Paths around every route: as written, with values, other cases, extra or missing segments, escapes, slashes. */
  function pathsAround(routes: { path: string }[]): string[] {
    const values = ["ALPHA-1", "alpha-12", "0b6f4a8e-4f1e-4c55-9d7e-1c2b3d4e5f60", "x", "a.b", "%41", "%2F", "~", "-"];
    const out = new Set<string>(["/", "/api", "/API", "/api/", "/apix", "/mcp", "/MCP/", "/mcp/x", "//api/tasks", "/api//tasks"]);
    let n = 0;
    for (const { path } of routes) {
      const segments = path.split("/");
      for (const value of values) {
        const filled = segments.map((s) => (s.startsWith(":") || s === "*" ? value : s));
        const p = `/${filled.join("/")}`;
        out.add(p);
        out.add(p.toUpperCase());
        out.add(`${p}/`);
        out.add(`${p}/extra`);
        out.add(`${p}/extra/more`);
        out.add(`/${filled.slice(0, -1).join("/")}`);
        out.add(p.replace(/\//g, () => (n++ % 3 === 0 ? "//" : "/")));
      }
    }
    return [...out];
  }

  it("matches every path exactly as Remix's matchRoutes does, over the real API routes", () => {
    const routes = apiRoutesOf(build).map(({ id, path }) => ({ id, path }));
    expect(routes.length).toBeGreaterThan(8);
    const match = createRouteMatcher(routes);
    const paths = pathsAround(routes);
    expect(paths.length).toBeGreaterThan(250);
    for (const p of paths) expect({ p, m: match(p) }).toEqual({ p, m: remixMatch(routes, p) });
  });

  it("ranks like Remix: a static segment beats a param, a param beats a splat, earlier siblings win ties", () => {
    const routes = [
      { id: "splat", path: "api/*" },
      { id: "param", path: "api/tasks/:id" },
      { id: "static", path: "api/tasks/new" },
      { id: "deep-splat", path: "api/tasks/*" },
      { id: "first", path: "api/x/:a" },
      { id: "second", path: "api/x/:b" },
    ];
    const match = createRouteMatcher(routes);
    for (const p of [
      "/api/tasks/new",
      "/api/tasks/NEW",
      "/api/tasks/A-1",
      "/api/tasks/A-1/x",
      "/api/other",
      "/api/x/1",
      "/api",
    ]) {
      expect({ p, m: match(p) }).toEqual({ p, m: remixMatch(routes, p) });
    }
    expect(match("/api/tasks/new")?.id).toBe("static");
    expect(match("/api/tasks/A-1")).toEqual({ id: "param", params: { id: "A-1" } });
    expect(match("/api/x/1")?.id).toBe("first");
  });

  it("refuses route paths it cannot match the way Remix would", () => {
    expect(() => createRouteMatcher([{ id: "o", path: "api/:id?" }])).toThrow(/only static segments/);
    expect(() => createRouteMatcher([{ id: "s", path: "api/files-*" }])).toThrow(/only static segments/);
  });
});
