/**
 * The Node server: serves the production build and owns what Remix does not —
 * request ids, the client IP, security headers and the CSP nonce, the body-size
 * ceiling, the same-origin check for page mutations, static files, timeouts and
 * graceful shutdown. Started by main.ts (`npm start`, `node build/node/server.js` and the
 * single executable), which decides where the Remix build, the client files and the
 * SQLite addon come from.
 */
import { randomBytes, randomUUID } from "node:crypto";
import http from "node:http";
import { createRequestListener, sendResponse, type ClientAddress } from "@remix-run/node-fetch-server";
import { createRequestHandler, type AppLoadContext, type ServerBuild } from "@remix-run/node";
import { createApiDispatcher } from "./app/lib/api/dispatch.server";
import { apiError } from "./app/lib/api/errors.server";
import { discardUnreadBodyAfterResponse, MAX_BODY_BYTES } from "./app/lib/http/body.server";
import { clientIp } from "./app/lib/http/client-ip.server";
import type { DatabaseOptions } from "./app/lib/db.server";
import type { Config } from "./app/lib/env.server";
import { checkSameOrigin, requestOrigin } from "./app/lib/http/origin.server";
import { routeConsoleToLogger } from "./app/lib/logger.server";
import { recordSecurityEvent } from "./app/lib/security/events.server";
import type { StaticFiles } from "./app/lib/runtime/static-files.server";
import { createServices, type Services } from "./app/lib/services.server";

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

/** What the server runs: the same code path for `npm start` and the single executable, only the sources differ. */
export interface ServerRuntime {
  /** The Remix server build. */
  build: ServerBuild;
  /** The client build (hashed assets, public files), already in memory. */
  staticFiles: StaticFiles;
  /** How to open the database (which SQLite addon). */
  database: DatabaseOptions;
}

function contentSecurityPolicy(nonce: string, isApi: boolean): string {
  if (isApi) return "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

function applySecurityHeaders(headers: Headers, nonce: string, isApi: boolean, requestId: string, https: boolean) {
  headers.set("X-Request-Id", requestId);
  headers.set("Content-Security-Policy", contentSecurityPolicy(nonce, isApi));
  headers.set("X-Content-Type-Options", "nosniff");
  headers.set("X-Frame-Options", "DENY");
  headers.set("Referrer-Policy", "same-origin");
  headers.set("Cross-Origin-Opener-Policy", "same-origin");
  headers.set("Cross-Origin-Resource-Policy", "same-origin");
  headers.set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()");
  if (https) headers.set("Strict-Transport-Security", "max-age=31536000");
  if (!headers.has("Cache-Control")) headers.set("Cache-Control", "no-store");
}

function plainPage(status: number, title: string, message: string, headers?: HeadersInit): Response {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(title)} · PreqStation</title><link rel="stylesheet" href="/plain.css"></head><body><main class="plain"><h1>${esc(title)}</h1><p>${esc(message)}</p><p><a href="/">Back to PreqStation</a></p></main></body></html>`;
  const h = new Headers(headers);
  h.set("Content-Type", "text/html; charset=utf-8");
  return new Response(body, { status, headers: h });
}

/** Methods the Fetch API cannot carry (a `Request` refuses them); answered 405 before one is built. */
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);

/**
 * The request listener for node:http. Before anything is routed it checks what the
 * URL is built from — the request target must be a path, Host (and, with TRUST_PROXY,
 * X-Forwarded-Host) must be `hostname[:port]` — so that the routed path is the request
 * line's and nothing else; then builds the Fetch `Request` from that validated origin
 * and the raw target, with the socket's address as the client's.
 */
export function createAppHandler(services: Services, build: ServerBuild, staticFiles: StaticFiles): http.RequestListener {
  const remix = createRequestHandler(build, "production");
  const api = createApiDispatcher(build);
  const { config, logger } = services;

  /** Security headers and the request id on any response, copying it once if its headers are immutable. */
  function withHeaders(response: Response, nonce: string, isApi: boolean, requestId: string, https: boolean): Response {
    try {
      applySecurityHeaders(response.headers, nonce, isApi, requestId, https);
      return response;
    } catch {
      // immutable headers (a fetched or static response): copy once, then set
      const copy = new Response(response.body, response);
      applySecurityHeaders(copy.headers, nonce, isApi, requestId, https);
      return copy;
    }
  }

  /** A client error answered before a `Request` exists: a fixed body, every header, one debug line. */
  function refuse(status: 400 | 405, target: string | undefined, method: string, reason: string): Response {
    const requestId = randomUUID();
    const path = target?.startsWith("/") ? target.split("?", 1)[0]! : "";
    const isApi = path === "/api" || path.startsWith("/api/");
    let response: Response;
    if (status === 405) {
      response = isApi
        ? apiError("METHOD_NOT_ALLOWED", `Method ${method} is not allowed`, { headers: { Allow: "GET, HEAD, POST, PATCH, DELETE" } })
        : plainPage(405, "Method not allowed", "This page only answers GET and POST.", { Allow: "GET, HEAD, POST" });
    } else {
      response = new Response("Bad Request", { status: 400, headers: { "Content-Type": "text/plain; charset=utf-8" } });
    }
    logger.debug("request refused", { requestId, method: method.slice(0, 16), status, reason });
    const page = status === 405 && !isApi;
    return withHeaders(response, page ? randomBytes(16).toString("base64") : "", !page, requestId, false);
  }

  /**
   * Errors of the request listener itself (no handler ran: the URL or the Request could not
   * be built). A malformed URL is the client's error (400, no log line per probe); anything
   * else is logged and answered 500 — with the headers and a request id either way.
   */
  function onError(error: unknown): Response {
    const requestId = randomUUID();
    const { code, name, cause } = (error ?? {}) as { code?: unknown; name?: unknown; cause?: { code?: unknown } };
    if (code === "ERR_INVALID_URL" || cause?.code === "ERR_INVALID_URL" || name === "RequestAuthorityError") {
      logger.debug("request refused", { requestId, status: 400, reason: "invalid_url" });
      return withHeaders(new Response("Bad Request", { status: 400, headers: { "Content-Type": "text/plain; charset=utf-8" } }), "", true, requestId, false);
    }
    logger.error("request listener error", { requestId, error });
    return withHeaders(apiError("INTERNAL_ERROR", `Internal error (request id ${requestId})`), "", true, requestId, false);
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
    response = withHeaders(response, nonce, isApi, requestId, url.protocol === "https:");
    const ms = Math.round((performance.now() - started) * 10) / 10;
    // Server time, for the signed-in owner's pages only: anonymous and API callers get
    // no precise timing of sign-in or token checks to measure against.
    if (info.sessionCookieHeader && !isApi) response.headers.set("Server-Timing", `app;dur=${ms}`);
    if (response.status >= 500) logger.error("request failed", { requestId, method: request.method, path: url.pathname, status: response.status, ms });
    else logger.debug("request", { requestId, method: request.method, path: url.pathname, status: response.status, ms });
    return response;
  }

  return function listener(req, res) {
    discardUnreadBodyAfterResponse(req, res);
    const method = req.method ?? "GET";
    const origin = requestOrigin(
      {
        host: req.headers.host,
        forwardedHost: header(req.headers["x-forwarded-host"]),
        forwardedProto: header(req.headers["x-forwarded-proto"]),
        target: req.url,
        encrypted: "encrypted" in req.socket && req.socket.encrypted === true,
      },
      config.trustProxy,
    );
    if (!origin.ok || FORBIDDEN_METHODS.has(method)) {
      const response = origin.ok ? refuse(405, req.url, method, "method") : refuse(400, req.url, method, origin.reason);
      sendResponse(res, response).catch(() => res.destroy());
      return;
    }
    // The URL is `${protocol}//${host}${req.url}`, from the validated origin and the raw target.
    createRequestListener(handle, { host: origin.host, protocol: origin.protocol, onError })(req, res);
  };

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
      return isApi ? apiError("NOT_FOUND", "No such API route") : plainPage(404, "Page not found", "There is no page at this address.");
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

    if (!isApi && method !== "GET" && method !== "HEAD") {
      const check = checkSameOrigin(request, config.allowedOrigins);
      if (!check.ok) {
        await recordSecurityEvent(
          services.db,
          {
            type: "csrf_blocked",
            outcome: "blocked",
            ip: info.clientIp,
            userAgent: info.userAgent,
            path: url.pathname,
            details: { reason: check.reason, seen: check.seen, method },
          },
          { coalesce: true },
        ).catch((error) => logger.error("could not record security event", { requestId: info.id, error }));
        return plainPage(403, "Request blocked", "This form was sent from another site, so it was refused. Reload the page and try again.");
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

    const context: AppLoadContext = { services, request: info };
    if (isApi) {
      const response = api(request, url.pathname, context);
      if (response) return response;
    }
    return remix(request, context);
  }
}

export async function startServer(config: Config, runtime: ServerRuntime): Promise<http.Server> {
  const services = await createServices(config, {
    database: runtime.database,
    announceSetupCode: (code) => {
      process.stdout.write(`\nNo owner exists yet. Open /setup and enter this one-time code:\nSetup code: ${code}\n\n`);
    },
  });
  // Remix and its router write warnings (echoing request paths) and errors with console.*.
  routeConsoleToLogger(services.logger);
  const handler = createAppHandler(services, runtime.build, runtime.staticFiles);

  const server = http.createServer(
    {
      headersTimeout: 10_000, // slow-header (slowloris) clients are cut off
      requestTimeout: 30_000, // a body that never finishes is cut off
      // Node checks those two timeouts only this often (default 30 s, which would let a
      // slow client hold its connection three times longer than headersTimeout says).
      connectionsCheckingInterval: 1_000,
      keepAliveTimeout: 5_000,
      maxHeaderSize: 16 * 1024,
    },
    handler,
  );
  server.timeout = 60_000;

  let shuttingDown = false;
  const shutdown = (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    services.logger.info("shutting down", { signal });
    services.changes.close(); // ends the live streams (/tasks/events), so their connections can drain
    const force = setTimeout(() => {
      services.logger.warn("forcing shutdown with requests still open");
      server.closeAllConnections();
    }, 8_000);
    force.unref();
    // Connections busy now become idle keep-alives once their response is sent: close them as they do.
    const sweep = setInterval(() => server.closeIdleConnections(), 200);
    sweep.unref();
    server.close(() => {
      clearTimeout(force);
      clearInterval(sweep);
      void services.db.destroy().finally(() => {
        services.logger.info("stopped");
        process.exit(0);
      });
    });
    server.closeIdleConnections();
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  // During shutdown, answer in-flight keep-alive requests with Connection: close.
  server.on("request", (_req, res) => {
    if (shuttingDown) res.setHeader("Connection", "close");
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  services.logger.info("listening", { url: `http://${config.host === "0.0.0.0" ? "localhost" : config.host}:${port}`, host: config.host, port, database: config.databasePath });
  return server;
}

