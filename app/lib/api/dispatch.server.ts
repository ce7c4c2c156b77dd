import type { ActionFunction, AppLoadContext, LoaderFunction, ServerBuild } from "@remix-run/node";
import { matchRoutes } from "@remix-run/router";

/**
 * Serves `/api/*` and `/mcp` straight from their resource-route modules of the Remix build.
 *
 * An API route is a plain function from Request to Response; running it through
 * Remix's document/single-fetch pipeline costs more than the route's own work
 * (measured: ~3k req/s for a trivial route through Remix against ~86k for bare
 * node:http on this machine). This matches the request with Remix's own router
 * (`matchRoutes`, the same ranking Remix uses) over the same route modules and
 * calls their `loader` (GET, HEAD) or `action` (every other method) with the same
 * arguments Remix would. Route files stay ordinary Remix resource routes.
 */
export type ApiDispatcher = (request: Request, pathname: string, context: AppLoadContext) => Promise<Response> | null;

/** A route's match: its id and its params, as Remix's router gives them. */
export interface RouteMatch {
  id: string;
  params: Record<string, string | undefined>;
}

/** A path made only of non-empty segments of unreserved characters: nothing to decode, no trailing slash. */
const SIMPLE_PATH = /^(?:\/[A-Za-z0-9._~-]+)+$/;
const PARAM = /^:[\w-]+$/;

/**
 * Matches paths against a fixed set of route paths the way Remix's `matchRoutes` does,
 * with the work done once. `matchRoutes` flattens and ranks the whole route list on
 * every call (13 % of the CPU of an API lookup by key, measured with bench/lib/profile.ts).
 * Here each path is split and scored (Remix's own ranking: static 10, dynamic 3, empty 1,
 * splat −2, plus the segment count) when the dispatcher is built, and a request path is
 * compared segment by segment, case-insensitively, best score first.
 *
 * Only simple paths take this way; one with percent-escapes, empty segments or a
 * trailing slash (where decoding and Remix's trailing-slash and splat rules come in)
 * goes to `matchRoutes` itself, so the answer is Remix's for every path
 * (tests/unit/api-dispatch.test.ts compares the two).
 */
export function createRouteMatcher(routes: readonly { id: string; path: string }[]): (pathname: string) => RouteMatch | null {
  for (const { path } of routes) {
    if (path.split("/").some((s) => s.endsWith("?") || (s.includes("*") && s !== "*") || (s.startsWith(":") && !PARAM.test(s)))) {
      throw new Error(`API route path ${path}: only static segments, :params and a final * are supported`);
    }
  }
  const compiled = routes
    .map(({ id, path }, order) => {
      const segments = path.split("/").filter((s) => s !== "");
      const full = ["", ...segments];
      const splat = segments.at(-1) === "*";
      let score = full.length + (splat ? -2 : 0);
      for (const s of full) if (s !== "*") score += PARAM.test(s) ? 3 : s === "" ? 1 : 10;
      return {
        id,
        order,
        score,
        splat,
        fixed: (splat ? segments.slice(0, -1) : segments).map((s) =>
          s.startsWith(":") ? { param: s.slice(1) } : { text: s.toLowerCase() },
        ),
      };
    })
    .sort((a, b) => b.score - a.score || a.order - b.order);

  return (pathname) => {
    if (!SIMPLE_PATH.test(pathname)) {
      const match = matchRoutes([...routes], pathname)?.at(-1);
      return match ? { id: match.route.id, params: match.params } : null;
    }
    const parts = pathname.slice(1).split("/");
    for (const route of compiled) {
      const { fixed } = route;
      if (route.splat ? parts.length < fixed.length : parts.length !== fixed.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < fixed.length; i += 1) {
        const segment = fixed[i]!;
        if (segment.param !== undefined) params[segment.param] = parts[i]!;
        else if (segment.text !== parts[i]!.toLowerCase()) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      if (route.splat) params["*"] = parts.slice(fixed.length).join("/");
      return { id: route.id, params };
    }
    return null;
  };
}

interface ApiHandlers {
  loader?: LoaderFunction;
  action?: ActionFunction;
}

/** The build's `/api/*` and `/mcp` route modules with their full paths; throws if one of them renders a page. */
export function apiRoutesOf(build: ServerBuild): { id: string; path: string; module: ServerBuild["routes"][string]["module"] }[] {
  // Flat-route files nest (`api.tasks.$id.ts` is a child of `api.tasks.ts`), so a
  // route's URL is its ancestors' paths joined; null when an ancestor is pathless.
  const fullPath = (id: string): string | null => {
    const route = build.routes[id];
    if (!route || route.path === undefined) return null;
    if (!route.parentId || route.parentId === "root") return route.path;
    const parent = fullPath(route.parentId);
    return parent === null ? null : `${parent}/${route.path}`;
  };
  const apiRoutes = Object.values(build.routes)
    .map((r) => ({ id: r.id, module: r.module, path: fullPath(r.id) }))
    .filter(
      (x): x is { id: string; module: (typeof x)["module"]; path: string } => x.path !== null && /^(api|mcp)(\/|$)/.test(x.path),
    );
  if (apiRoutes.some((r) => r.module.default)) {
    throw new Error("API routes must be resource routes (no default export)");
  }
  return apiRoutes;
}

export function createApiDispatcher(build: ServerBuild): ApiDispatcher {
  const apiRoutes = apiRoutesOf(build);
  const routes = apiRoutes.map(({ id, path }) => ({ id, path }));
  const handlers = new Map<string, ApiHandlers>(
    apiRoutes.map((r) => [r.id, { loader: r.module.loader, action: r.module.action }]),
  );

  const match = createRouteMatcher(routes);

  return (request, pathname, context) => {
    const found = match(pathname);
    if (!found) return null;
    const route = handlers.get(found.id);
    const isRead = request.method === "GET" || request.method === "HEAD";
    const fn = isRead ? route?.loader : route?.action;
    if (!fn) return null; // let Remix answer (it knows how to say 405)
    // A write's domain command publishes its own change once committed (app/lib/command).
    return invoke(fn, request, found.params, context);
  };
}

async function invoke(
  fn: LoaderFunction | ActionFunction,
  request: Request,
  params: Record<string, string | undefined>,
  context: AppLoadContext,
): Promise<Response> {
  try {
    const result = await fn({ request, params, context });
    if (result instanceof Response) return result;
    return Response.json(result ?? null);
  } catch (thrown) {
    if (thrown instanceof Response) return thrown;
    throw thrown;
  }
}
