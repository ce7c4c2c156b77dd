import type { ActionFunction, AppLoadContext, LoaderFunction, LoaderFunctionArgs } from "@remix-run/node";
import type { z } from "zod";
import { ApiError, apiError, methodNotAllowed } from "./errors.server";
import { parseIdempotencyKey } from "./idempotency.server";
import { parseInput, readJsonBody } from "./input.server";
import type { CommandDeps } from "../command/command.server";
import { requestHash, withIdempotency, type StoredReply } from "../command/idempotency.server";
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

/** Headers a stored reply does not keep: the wrapper sets them afresh on every answer. */
const UNSTORED_HEADERS = new Set(["content-type", "content-length", "cache-control"]);

/**
 * A POST that creates, safe to retry with `Idempotency-Key` (api.md): the JSON body is
 * read and validated against `body` first (never while the write lock is held), then
 * `create` runs — as it is without a key; with one, inside the domain's idempotent
 * create (app/lib/command/idempotency.server.ts), which replays the first reply to the
 * same key and body for 24 h (`Idempotent-Replayed: true`) and answers another body
 * with 409. `create` gets the command `deps` to pass on to its one domain command.
 */
export function idempotentCreate<S extends z.ZodType>(spec: {
  body: S;
  create: (args: ApiHandlerArgs & { body: z.output<S>; deps: CommandDeps }) => Promise<Response>;
}): ApiHandler {
  return async (args) => {
    const key = parseIdempotencyKey(args.request);
    const { value, text } = await readJsonBody(args.request);
    const body = parseInput(spec.body, value);
    const services = args.context.services;
    if (key === null) return spec.create({ ...args, body, deps: services });
    const { reply, replayed } = await withIdempotency(
      services,
      {
        tokenId: args.auth.token.id,
        key,
        requestHash: requestHash(args.request.method, new URL(args.request.url).pathname.toLowerCase(), text),
      },
      async (deps) => storedReply(await spec.create({ ...args, body, deps })),
    );
    const headers = new Headers(reply.headers);
    headers.set("Content-Type", "application/json; charset=utf-8");
    headers.set("Cache-Control", "no-store");
    if (replayed) headers.set("Idempotent-Replayed", "true");
    return new Response(reply.body, { status: reply.status, headers });
  };
}

async function storedReply(response: Response): Promise<StoredReply> {
  const headers: Record<string, string> = {};
  for (const [name, value] of response.headers) if (!UNSTORED_HEADERS.has(name)) headers[name] = value;
  return { status: response.status, headers, body: await response.text() };
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
