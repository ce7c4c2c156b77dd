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

interface ApiHandlers {
  loader?: LoaderFunction;
  action?: ActionFunction;
}

export function createApiDispatcher(build: ServerBuild): ApiDispatcher {
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
    .map((r) => ({ r, path: fullPath(r.id) }))
    .filter((x): x is { r: (typeof x)["r"]; path: string } => x.path !== null && /^(api|mcp)(\/|$)/.test(x.path));
  if (apiRoutes.some(({ r }) => r.module.default)) {
    throw new Error("API routes must be resource routes (no default export)");
  }
  const routes = apiRoutes.map(({ r, path }) => ({ id: r.id, path }));
  const handlers = new Map<string, ApiHandlers>(
    apiRoutes.map(({ r }) => [r.id, { loader: r.module.loader, action: r.module.action }]),
  );

  return (request, pathname, context) => {
    const match = matchRoutes(routes, pathname)?.at(-1);
    if (!match) return null;
    const route = handlers.get(match.route.id);
    const isRead = request.method === "GET" || request.method === "HEAD";
    const fn = isRead ? route?.loader : route?.action;
    if (!fn) return null; // let Remix answer (it knows how to say 405)
    const response = invoke(fn, request, match.params, context);
    // A successful write may have changed tasks or projects: tell the owner's open live pages.
    if (isRead) return response;
    return response.then((r) => {
      if (r.ok) context.services.changes.publish();
      return r;
    });
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
