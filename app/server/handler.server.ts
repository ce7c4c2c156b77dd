/**
 * The request handler: everything the server does with a request that Remix does not —
 * request ids, the client IP, security headers and the CSP nonce, the body-size ceiling,
 * the same-origin check for page mutations, static files, and the API/MCP fast path —
 * importable without listening on a port. start.server.ts only starts it (listen, timeouts,
 * shutdown); tests drive `admit` and `handle` in-process.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type http from "node:http";
import { createRequestListener, sendResponse, type ClientAddress } from "@remix-run/node-fetch-server";
import { createRequestHandler, type AppLoadContext, type ServerBuild } from "@remix-run/node";
import { createApiDispatcher, describeApi } from "../lib/api/dispatch.server";
import { VERSION } from "../lib/version.server";
import { apiError } from "../lib/api/errors.server";
import type { StaticFiles } from "./runtime/static-files.server";
import { requestContext } from "../lib/domain/context";
import { recordEvent } from "../lib/security/events.server";
import type { Services } from "./services.server";
import { discardUnreadBodyAfterResponse, MAX_BODY_BYTES } from "../lib/http/body.server";
import { clientIp } from "../lib/http/client-ip.server";
import { checkSameOrigin, requestOrigin } from "../lib/http/origin.server";
import { plainPage } from "../lib/http/plain-page.server";
import { NATIVE_OAUTH_PATHS } from "../lib/http/oauth.server";
import { withSecurityHeaders } from "../lib/http/security-headers.server";

/** What the request line and headers say, before a Fetch `Request` is built from them. */
export interface RequestHead {
  method: string;
  /** The raw request target (`req.url`). */
  target: string | undefined;
  host: string | undefined;
  forwardedHost: string | undefined;
  forwardedProto: string | undefined;
  /** The connection is TLS. */
  encrypted: boolean;
}

/** The verdict on a request head: the origin to build the request URL from, or the response that refuses it. */
export type Admission = { ok: true; protocol: "http:" | "https:"; host: string } | { ok: false; response: Response };

export interface AppHandler {
  /** The node:http request listener: `admit`, then `handle` on the Fetch `Request` built from the validated origin. */
  listener: http.RequestListener;
  /**
   * Checks what the URL is built from before anything is routed: the request target must be
   * a path, Host (and, with TRUST_PROXY, X-Forwarded-Host) must be `hostname[:port]`, and the
   * method one a Fetch `Request` can carry. A refusal is a fixed 400 or 405 with every header.
   */
  admit(head: RequestHead): Admission;
  /** The Fetch-level handler: static files, the API/MCP fast path, Remix, and the headers on every response. */
  handle(request: Request, client: ClientAddress): Promise<Response>;
}

/** Whether every segment of a path percent-decodes (as Remix's router decodes it to match routes). */
function decodablePath(pathname: string): boolean {
  try {
    for (const segment of pathname.split("/")) decodeURIComponent(segment);
    return true;
  } catch {
    return false;
  }
}

/** A header Node may have given as a list: its values joined as one. */
function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(", ") : value;
}

/** Methods the Fetch API cannot carry (a `Request` refuses them); answered 405 before one is built. */
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);

/** The request handler for one set of services and one Remix build. */
export function createAppHandler(services: Services, build: ServerBuild, staticFiles: StaticFiles): AppHandler {
  const remix = createRequestHandler(build, "production");
  const api = createApiDispatcher(build);
  const apiDescription = describeApi(build, VERSION);
  const { config, logger } = services;
  /** The page check trusts the public origin (PUBLIC_ORIGIN) as it trusts ALLOWED_ORIGINS. */
  const trustedOrigins = config.publicOrigin === null ? config.allowedOrigins : [config.publicOrigin, ...config.allowedOrigins];

  /** A client error answered before a `Request` exists: a fixed body, every header, one debug line. */
  function refuse(status: 400 | 405, target: string | undefined, method: string, reason: string): Response {
    const requestId = randomUUID();
    const path = target?.startsWith("/") ? target.split("?", 1)[0]! : "";
    const isApi = path === "/api" || path.startsWith("/api/");
    let response: Response;
    if (status === 405) {
      response = isApi
        ? apiError("METHOD_NOT_ALLOWED", `Method ${method} is not allowed`, {
            headers: { Allow: "GET, HEAD, POST, PATCH, DELETE" },
          })
        : plainPage(405, "Method not allowed", "This page only answers GET and POST.", { Allow: "GET, HEAD, POST" });
    } else {
      response = new Response("Bad Request", { status: 400, headers: { "Content-Type": "text/plain; charset=utf-8" } });
    }
    logger.debug("request refused", { requestId, method: method.slice(0, 16), status, reason });
    const page = status === 405 && !isApi;
    return withSecurityHeaders(response, {
      nonce: page ? randomBytes(16).toString("base64") : "",
      isApi: !page,
      requestId,
      https: false,
    });
  }

  /**
   * Errors of the request listener itself (no handler ran: the URL or the Request could not
   * be built). A malformed URL is the client's error (400, no log line per probe); anything
   * else is logged and answered 500 — with the headers and a request id either way.
   */
  function onError(error: unknown): Response {
    const requestId = randomUUID();
    const { code, name, cause } = (error ?? {}) as { code?: unknown; name?: unknown; cause?: { code?: unknown } };
    const json = { nonce: "", isApi: true, requestId, https: false };
    if (code === "ERR_INVALID_URL" || cause?.code === "ERR_INVALID_URL" || name === "RequestAuthorityError") {
      logger.debug("request refused", { requestId, status: 400, reason: "invalid_url" });
      return withSecurityHeaders(
        new Response("Bad Request", { status: 400, headers: { "Content-Type": "text/plain; charset=utf-8" } }),
        json,
      );
    }
    logger.error("request listener error", { requestId, error });
    return withSecurityHeaders(apiError("INTERNAL_ERROR", `Internal error (request id ${requestId})`), json);
  }

  function admit(head: RequestHead): Admission {
    const origin = requestOrigin(head, config.trustProxy);
    if (!origin.ok) return { ok: false, response: refuse(400, head.target, head.method, origin.reason) };
    if (FORBIDDEN_METHODS.has(head.method)) return { ok: false, response: refuse(405, head.target, head.method, "method") };
    return { ok: true, protocol: origin.protocol, host: origin.host };
  }

  async function handle(request: Request, client: ClientAddress): Promise<Response> {
    const started = performance.now();
    const requestId = randomUUID();
    const url = new URL(request.url);
    // The JSON API and the MCP endpoint: bearer-authenticated, JSON, no pages, no session cookie.
    const isApi = url.pathname === "/api" || url.pathname.startsWith("/api/") || url.pathname === "/mcp";
    // A CSP nonce only for documents; JSON responses get a script-free policy.
    const nonce = isApi ? "" : randomBytes(16).toString("base64");
    const info: AppLoadContext["request"] = {
      id: requestId,
      // client.address is the socket's: the listener is never given trustProxy, whose
      // reading of Forwarded and of the first X-Forwarded-For entry a client can write.
      clientIp: clientIp(client.address, request.headers.get("x-forwarded-for"), config.trustProxy),
      userAgent: (request.headers.get("user-agent") ?? "").slice(0, 512),
      cspNonce: nonce,
    };

    let response: Response;
    try {
      response = await route(request, url, isApi, info);
    } catch (error) {
      logger.error("unhandled error", { requestId, path: url.pathname, error });
      response = isApi
        ? apiError("INTERNAL_ERROR", `Internal error (request id ${requestId})`)
        : plainPage(500, "Something went wrong", `The error was logged with request id ${requestId}.`);
    }

    // Re-send the session cookie with a fresh Max-Age on every authenticated page response,
    // unless the route set one itself (sign-in, sign-out).
    if (info.sessionCookieHeader && !isApi) {
      const sets = response.headers.getSetCookie();
      if (!sets.some((c) => c.startsWith("session="))) {
        response = new Response(response.body, response);
        response.headers.append("Set-Cookie", info.sessionCookieHeader);
      }
    }
    response = withSecurityHeaders(response, { nonce, isApi, requestId, https: url.protocol === "https:" });
    const ms = Math.round((performance.now() - started) * 10) / 10;
    // Server time, for the signed-in owner's pages only: anonymous and API callers get
    // no precise timing of sign-in or token checks to measure against.
    if (info.sessionCookieHeader && !isApi) response.headers.set("Server-Timing", `app;dur=${ms}`);
    if (response.status >= 500)
      logger.error("request failed", { requestId, method: request.method, path: url.pathname, status: response.status, ms });
    else logger.debug("request", { requestId, method: request.method, path: url.pathname, status: response.status, ms });
    return response;
  }

  async function route(request: Request, url: URL, isApi: boolean, info: AppLoadContext["request"]): Promise<Response> {
    const method = request.method;
    if ((method === "GET" || method === "HEAD") && !isApi) {
      const file = staticFiles.get(url.pathname);
      if (file) {
        return new Response(method === "HEAD" ? null : new Uint8Array(file.body), {
          headers: { "Content-Type": file.type, "Cache-Control": file.cacheControl, "Content-Length": String(file.body.length) },
        });
      }
    }

    const declared = Number(request.headers.get("content-length") ?? "0");
    if (declared > MAX_BODY_BYTES) {
      return isApi
        ? apiError("PAYLOAD_TOO_LARGE", `Request body must be at most ${MAX_BODY_BYTES} bytes`)
        : plainPage(413, "Request too large", "That request was larger than this server accepts.");
    }

    if (!decodablePath(url.pathname)) {
      // No route has such a path, and Remix's router would log it (three times, raw) before saying so.
      return isApi
        ? apiError("NOT_FOUND", "No such API route")
        : plainPage(404, "Page not found", "There is no page at this address.");
    }

    if (!isApi && url.searchParams.has("_data")) {
      // Remix's pre-single-fetch data requests: this app never makes them, and Remix logs
      // each one as an error. A client asking for one gets a 400.
      return plainPage(400, "Bad request", "This address is not a page.");
    }

    if (!isApi && method !== "GET" && method !== "HEAD" && method !== "POST") {
      // Pages are read with GET and changed with a form POST; Remix would run an action for any method.
      return plainPage(405, "Method not allowed", "This page only answers GET and POST.", { Allow: "GET, HEAD, POST" });
    }

    // The OAuth token, registration and revocation endpoints are called by native clients
    // (contract §9): no cookie is read there, so there is nothing for a cross-site form to ride on.
    if (!isApi && method !== "GET" && method !== "HEAD" && !NATIVE_OAUTH_PATHS.has(url.pathname)) {
      const check = checkSameOrigin(request, trustedOrigins);
      if (!check.ok) {
        await recordEvent(
          services.db,
          requestContext(request, info),
          { type: "csrf_blocked", outcome: "blocked", details: { reason: check.reason, seen: check.seen, method } },
          { coalesce: true, bestEffort: logger },
        );
        return plainPage(
          403,
          "Request blocked",
          "This form was sent from another site, so it was refused. Reload the page and try again.",
        );
      }
      // The origin is verified. Remix repeats a narrower form of this check on document
      // POSTs (Origin's host must equal X-Forwarded-Host or Host, letter for letter) that
      // knows nothing of ALLOWED_ORIGINS or default ports, and answers a mismatch with a
      // 500. It gets the request without the header it has nothing left to decide on.
      if (request.headers.has("origin")) {
        const headers = new Headers(request.headers);
        headers.delete("origin");
        request = new Request(request, { headers });
      }
    }

    const context: AppLoadContext = { services, request: info, api: apiDescription };
    if (isApi) {
      const response = api(request, url.pathname, context);
      if (response) return response;
    }
    return remix(request, context);
  }

  function listener(req: http.IncomingMessage, res: http.ServerResponse): void {
    discardUnreadBodyAfterResponse(req, res);
    const admission = admit({
      method: req.method ?? "GET",
      target: req.url,
      host: req.headers.host,
      forwardedHost: header(req.headers["x-forwarded-host"]),
      forwardedProto: header(req.headers["x-forwarded-proto"]),
      encrypted: "encrypted" in req.socket && req.socket.encrypted === true,
    });
    if (!admission.ok) {
      sendResponse(res, admission.response).catch(() => res.destroy());
      return;
    }
    // The URL is `${protocol}//${host}${req.url}`, from the validated origin and the raw target.
    createRequestListener(handle, { host: admission.host, protocol: admission.protocol, onError })(req, res);
  }

  return { listener, admit, handle };
}
