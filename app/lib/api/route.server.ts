import type { ActionFunction, AppLoadContext, LoaderFunction, LoaderFunctionArgs } from "@remix-run/node";
import { ApiError, apiError, methodNotAllowed } from "./errors.server";
import { apiErrorOf } from "./domain-errors.server";
import { requireToken, type TokenAuth } from "./guard.server";
import { DomainError } from "../domain/errors";
import { BodyTooLargeError } from "../http/body.server";
import { isStorageUnavailable } from "../db.server";

/** Route params (`:id` …), as Remix passes them. */
export type Params = LoaderFunctionArgs["params"];

export interface ApiHandlerArgs {
  request: Request;
  context: AppLoadContext;
  params: Params;
  auth: TokenAuth;
}

export type ApiHandler = (args: ApiHandlerArgs) => Response | Promise<Response>;

type Method = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

// ApiError lives with the error vocabulary (errors.server.ts), so modules that throw it need not load the guard.
export { ApiError };

const WRITE_METHODS = ["POST", "PATCH", "PUT", "DELETE"] as const;

/**
 * One bearer-authenticated resource route: method dispatch (GET also serves HEAD,
 * anything else is a 405 with `Allow`, decided before authentication), the guard
 * (writes need a `full` token), error mapping, and the auth headers
 * (X-RateLimit-*, PreqStation-Token-Expiration) on every response, errors included.
 */
export function defineApiRoute(methods: Partial<Record<Method, ApiHandler>>): {
  loader: LoaderFunction;
  action: ActionFunction;
} {
  const allow: string[] = [];
  if (methods.GET) allow.push("GET", "HEAD");
  for (const m of WRITE_METHODS) if (methods[m]) allow.push(m);

  async function run(request: Request, context: AppLoadContext, params: Params): Promise<Response> {
    const method = request.method.toUpperCase();
    const handler = method === "HEAD" ? methods.GET : (methods as Partial<Record<string, ApiHandler>>)[method];
    if (!handler) return methodNotAllowed(allow);
    const write = method !== "GET" && method !== "HEAD";
    let auth: TokenAuth | undefined;
    try {
      auth = await requireToken(request, context, { write });
      const response = await handler({ request, context, params, auth });
      return withHeaders(response, auth.headers);
    } catch (error) {
      const response = errorResponse(error, context);
      return auth ? withHeaders(response, auth.headers) : response;
    }
  }

  return {
    loader: ({ request, context, params }) => run(request, context, params),
    action: ({ request, context, params }) => run(request, context, params),
  };
}

function errorResponse(error: unknown, context: AppLoadContext): Response {
  if (error instanceof Response) return error;
  if (error instanceof ApiError) return error.toResponse();
  if (error instanceof DomainError) return apiErrorOf(error).toResponse();
  if (error instanceof BodyTooLargeError) {
    return apiError("PAYLOAD_TOO_LARGE", `Request body must be at most ${error.limit} bytes`);
  }
  if (isStorageUnavailable(error)) {
    context.services.logger.warn("storage unavailable", { requestId: context.request.id, error });
    return apiError("SERVICE_UNAVAILABLE", "Storage is temporarily unavailable; retry later", {
      headers: { "Retry-After": "5" },
    });
  }
  context.services.logger.error("unhandled API error", { requestId: context.request.id, error });
  return apiError("INTERNAL_ERROR", `Internal error (request id ${context.request.id})`);
}

/** Adds the auth headers the handler did not set itself; copies a response whose headers are immutable. */
function withHeaders(response: Response, extra: Headers): Response {
  let target = response;
  try {
    for (const [key, value] of extra) if (!target.headers.has(key)) target.headers.set(key, value);
  } catch {
    target = new Response(response.body, response);
    for (const [key, value] of extra) if (!target.headers.has(key)) target.headers.set(key, value);
  }
  return target;
}
