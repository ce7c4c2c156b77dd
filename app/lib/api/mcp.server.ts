/**
 * The MCP endpoint (`POST /mcp`): the official SDK's server over its web-standard
 * Streamable HTTP transport, stateless (no session id) with JSON responses.
 *
 * Order of checks: with PUBLIC_ORIGIN set, the Host must be its host; a present
 * Origin must be this server's own (PUBLIC_ORIGIN or ALLOWED_ORIGINS when set) → the API's bearer guard (tokens, rate limit, security
 * events; a POST here is not yet a write: the scope is checked per tool call) →
 * the body (1 MiB, JSON, one message: batches would let one rate-limited request
 * carry many calls; read by the API's own reader, so a forbidden key such as
 * `__proto__` is refused here exactly as on /api) → the MCP server. The guard's
 * refusals (401, 403, 429) and a body over 1 MiB (413) are answered in the API's
 * error shape; a body that is not one JSON-RPC message in JSON-RPC's, as the SDK's
 * transport itself would.
 */
import type { AppLoadContext } from "@remix-run/node";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv";
import { z } from "zod";
import { ApiError, apiError } from "./errors.server";
import { requireToken, type TokenAuth } from "./guard.server";
import { readJsonBody } from "./input.server";
import { BodyTooLargeError, MAX_BODY_BYTES } from "../http/body.server";
import { isStorageUnavailable } from "../db.server";
import { callTool, isKnownTool, listTools } from "./mcp-tools.server";
import { checkEndpointOrigin } from "../http/origin.server";
import { quoted } from "../projects/projects.server";
import { requestContext } from "../domain/context";
import { recordEvent } from "../security/events.server";
import { VERSION } from "../version.server";

const SERVER_INFO = { name: "preqstation", title: "PreqStation", version: VERSION };
const INSTRUCTIONS =
  "PreqStation is a task board for AI coding agents; preq_agent_guide explains the workflow. Find work with " +
  "preq_list_tasks (or preq_get_task by key such as PROJ-12, or preq_claim_next_task), then drive a task through " +
  "preq_plan_task → preq_start_task → preq_complete_task (with a result) → preq_review_task, or preq_block_task with a reason. " +
  "Tool errors start with the API's error code (NOT_FOUND, CONFLICT, VALIDATION_ERROR, FORBIDDEN…).";

/**
 * The server never asks the client anything (no elicitation), so this validator
 * is never used on a request path; one shared instance spares each request the
 * construction of its own (the SDK builds an Ajv instance per Server otherwise).
 */
const VALIDATOR = new AjvJsonSchemaValidator();

/*
 * The SDK parses a request with the schema its handler was registered with and
 * answers a mismatch as an internal error (-32603). These accept any params, so
 * the handlers decide: tools/list takes nothing it uses (no pagination) and
 * answers any params with the whole list; tools/call answers bad params with
 * invalid-params (-32602), as the MCP specification says.
 */
const ListToolsRequest = z.object({ method: z.literal("tools/list"), params: z.unknown().optional() });
const CallToolRequest = z.object({ method: z.literal("tools/call"), params: z.unknown().optional() });
const CallToolParams = z.object({ name: z.string(), arguments: z.record(z.string(), z.unknown()).optional() });

/** Handles one POST /mcp. */
export async function handleMcpRequest(request: Request, context: AppLoadContext): Promise<Response> {
  const refused = await refuseForeignOrigin(request, context);
  if (refused) return refused;

  let auth: TokenAuth;
  try {
    auth = await requireToken(request, context, { write: false, audience: "mcp" });
  } catch (thrown) {
    if (thrown instanceof Response) return thrown;
    throw thrown;
  }

  let response: Response;
  try {
    response = await serve(request, context, auth);
  } catch (error) {
    response = internalError(error, context);
  }
  return withHeaders(response, auth.headers);
}

/**
 * A browser page on another site (or a DNS-rebound name) must not drive the
 * endpoint: a present Origin that is not ours is a 403 and a security event; with
 * PUBLIC_ORIGIN set, so is any request for another host name (checkEndpointOrigin).
 * Agents (no Origin header at all) are otherwise not affected.
 */
async function refuseForeignOrigin(request: Request, context: AppLoadContext): Promise<Response | null> {
  const { config } = context.services;
  const check = checkEndpointOrigin(request, config);
  if (check.ok) return null;
  await recordEvent(
    context.services.db,
    requestContext(request, context.request),
    { type: "csrf_blocked", outcome: "blocked", details: { reason: check.reason, seen: check.seen, method: request.method } },
    { coalesce: true, bestEffort: context.services.logger },
  );
  return check.reason === "host_mismatch"
    ? apiError("FORBIDDEN", `This endpoint is served under another host name; use ${config.publicOrigin}/mcp`)
    : apiError("FORBIDDEN", "Requests from another origin are not allowed");
}

async function serve(request: Request, context: AppLoadContext, auth: TokenAuth): Promise<Response> {
  let message: unknown;
  try {
    // The API's own JSON reader (media type, 1 MiB, syntax, forbidden keys at any depth): what /api
    // refuses, /mcp refuses too, instead of the SDK's schemas silently dropping a `__proto__` key.
    ({ value: message } = await readJsonBody(request));
  } catch (error) {
    const refused = bodyRefusal(error);
    if (refused) return refused;
    throw error;
  }
  if (Array.isArray(message)) {
    return rpcError(400, -32600, "Invalid Request: batches are not supported; send one JSON-RPC message per request");
  }

  // A server and a transport per request (the SDK's stateless pattern: a transport
  // serves one request). They are not closed afterwards: with JSON responses
  // nothing of theirs outlives the answer (no stream, no timer), and closing would
  // abort the finished handler's signal and build a "connection closed" error on
  // every request, for the garbage collector to take anyway.
  const server = createServer(request, context, auth);
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  await server.connect(transport);
  return transport.handleRequest(request, { parsedBody: message });
}

/**
 * The reader's refusals, each in the shape a client of this endpoint reads: a body over
 * 1 MiB in the API's (the same answer the server gives a body declared too large before
 * any route runs), the rest as JSON-RPC errors, as the SDK's transport answers them. A
 * forbidden key (`__proto__`, `constructor`, `prototype`) is a 400 whose message starts
 * with the API's code and whose data carries the API's details; invalid-params when the
 * key is inside `params` (tool arguments), invalid-request elsewhere.
 */
function bodyRefusal(error: unknown): Response | null {
  if (error instanceof BodyTooLargeError) {
    return apiError("PAYLOAD_TOO_LARGE", `Request body must be at most ${MAX_BODY_BYTES} bytes`);
  }
  if (!(error instanceof ApiError)) return null;
  switch (error.code) {
    case "UNSUPPORTED_MEDIA_TYPE":
      return rpcError(415, -32000, "Unsupported Media Type: Content-Type must be application/json");
    case "INVALID_JSON":
      return rpcError(400, -32700, "Parse error: Invalid JSON");
    case "VALIDATION_ERROR": {
      const path = error.details?.[0]?.path ?? "";
      const code = path === "params" || path.startsWith("params.") ? ErrorCode.InvalidParams : ErrorCode.InvalidRequest;
      return rpcError(400, code, `${error.code}: ${error.message}`, { details: error.details ?? [] });
    }
    default:
      return null;
  }
}

/** A server for one request: its handlers close over this request's token. */
function createServer(request: Request, context: AppLoadContext, auth: TokenAuth): Server {
  // The SDK's low-level Server (McpServer is a layer over it): it lets tools/list depend on the token's scope
  // and tool errors carry the API's codes, and it validates nothing per tool it does not need to.
  const server = new Server(SERVER_INFO, {
    capabilities: { tools: { listChanged: false } },
    instructions: INSTRUCTIONS,
    jsonSchemaValidator: VALIDATOR,
  });
  // The token (or OAuth grant) acts through the MCP door: every command it runs records channel mcp.
  const ctx = {
    auth,
    deps: context.services,
    ctx: { ...auth.ctx, channel: "mcp" as const },
    db: context.services.db,
    request,
    context,
  };
  server.setRequestHandler(ListToolsRequest, () => listTools(auth.token.scope));
  server.setRequestHandler(CallToolRequest, async (message) => {
    const params = CallToolParams.safeParse(message.params);
    if (!params.success)
      throw new McpError(
        ErrorCode.InvalidParams,
        "Invalid tools/call params: name (a string) and arguments (an object) expected",
      );
    const { name, arguments: args } = params.data;
    if (!isKnownTool(name)) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${quoted(name)}`);
    return callTool(name, args, ctx);
  });
  return server;
}

function rpcError(status: number, code: number, message: string, data?: unknown): Response {
  const error = data === undefined ? { code, message } : { code, message, data };
  return new Response(JSON.stringify({ jsonrpc: "2.0", error, id: null }), {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store" },
  });
}

function internalError(error: unknown, context: AppLoadContext): Response {
  if (isStorageUnavailable(error)) {
    context.services.logger.warn("storage unavailable", { requestId: context.request.id, error });
    return apiError("SERVICE_UNAVAILABLE", "Storage is temporarily unavailable; retry later", {
      headers: { "Retry-After": "5" },
    });
  }
  context.services.logger.error("unhandled MCP error", { requestId: context.request.id, error });
  return apiError("INTERNAL_ERROR", `Internal error (request id ${context.request.id})`);
}

/** The guard's headers (X-RateLimit-*, PreqStation-Token-Expiration) on every answer past it. */
function withHeaders(response: Response, extra: Headers): Response {
  let target = response;
  try {
    target.headers.set("Cache-Control", "no-store");
  } catch {
    // immutable headers: copy once, then set
    target = new Response(response.body, response);
    target.headers.set("Cache-Control", "no-store");
  }
  for (const [key, value] of extra) if (!target.headers.has(key)) target.headers.set(key, value);
  return target;
}
