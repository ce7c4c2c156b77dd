/**
 * The Node server: serves the production build and owns what Remix does not —
 * request ids, the client IP, security headers and the CSP nonce, the body-size
 * ceiling, the same-origin check for page mutations, static files, timeouts and
 * graceful shutdown. Run through `npm start` (which builds it) or `node build/node/server.js`.
 */
import { randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createRequestListener, type ClientAddress } from "@remix-run/node-fetch-server";
import { createRequestHandler, type AppLoadContext, type ServerBuild } from "@remix-run/node";
import { createApiDispatcher } from "./app/lib/api-dispatch.server";
import { apiError } from "./app/lib/api-errors.server";
import { MAX_BODY_BYTES } from "./app/lib/body.server";
import { clientIp } from "./app/lib/client-ip.server";
import { ConfigError, loadConfig } from "./app/lib/env.server";
import { checkSameOrigin } from "./app/lib/origin.server";
import { recordSecurityEvent } from "./app/lib/security-events.server";
import { createServices, type Services } from "./app/lib/services.server";

const here = path.dirname(fileURLToPath(import.meta.url));
const BUILD_DIR = path.resolve(here, "..");

interface StaticFile {
  body: Buffer;
  type: string;
  cacheControl: string;
}

const MIME: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".webmanifest": "application/manifest+json",
  ".woff2": "font/woff2",
};

/** Loads every file of the client build into memory once: small, and no path ever touches the disk per request. */
function loadStaticFiles(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        const urlPath = `/${path.relative(dir, full).split(path.sep).map(encodeURIComponent).join("/")}`;
        files.set(urlPath, {
          body: fs.readFileSync(full),
          type: MIME[path.extname(entry.name)] ?? "application/octet-stream",
          cacheControl: urlPath.startsWith("/assets/") ? "public, max-age=31536000, immutable" : "public, max-age=3600",
        });
      }
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return files;
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

export function createAppHandler(services: Services, build: ServerBuild, clientDir: string) {
  const remix = createRequestHandler(build, "production");
  const api = createApiDispatcher(build);
  const staticFiles = loadStaticFiles(clientDir);
  const { config, logger } = services;

  return async function handle(request: Request, client: ClientAddress): Promise<Response> {
    const started = performance.now();
    const requestId = randomUUID();
    const url = new URL(request.url);
    // The JSON API and the MCP endpoint: bearer-authenticated, JSON, no pages, no session cookie.
    const isApi = url.pathname === "/api" || url.pathname.startsWith("/api/") || url.pathname === "/mcp";
    // A CSP nonce only for documents; JSON responses get a script-free policy.
    const nonce = isApi ? "" : randomBytes(16).toString("base64");
    const info: AppLoadContext["request"] = {
      id: requestId,
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
    try {
      applySecurityHeaders(response.headers, nonce, isApi, requestId, url.protocol === "https:");
    } catch {
      // immutable headers (a fetched or static response): copy once, then set
      response = new Response(response.body, response);
      applySecurityHeaders(response.headers, nonce, isApi, requestId, url.protocol === "https:");
    }
    const ms = Math.round((performance.now() - started) * 10) / 10;
    // Server time, for the signed-in owner's pages only: anonymous and API callers get
    // no precise timing of sign-in or token checks to measure against.
    if (info.sessionCookieHeader && !isApi) response.headers.set("Server-Timing", `app;dur=${ms}`);
    if (response.status >= 500) logger.error("request failed", { requestId, method: request.method, path: url.pathname, status: response.status, ms });
    else logger.debug("request", { requestId, method: request.method, path: url.pathname, status: response.status, ms });
    return response;
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

export async function startServer(): Promise<http.Server> {
  const config = loadConfig();
  const services = await createServices(config, {
    announceSetupCode: (code) => {
      process.stdout.write(`\nNo owner exists yet. Open /setup and enter this one-time code:\nSetup code: ${code}\n\n`);
    },
  });
  const build = (await import(pathToFileURL(path.join(BUILD_DIR, "server", "index.js")).href)) as ServerBuild;
  const handler = createAppHandler(services, build, path.join(BUILD_DIR, "client"));

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
    createRequestListener(handler, {
      trustProxy: config.trustProxy,
      onError: (error) => {
        // A request that cannot even be turned into a URL (a malformed Host header) is the
        // client's error, not ours: 400, without a log line per probe.
        const { code, name, cause } = (error ?? {}) as { code?: unknown; name?: unknown; cause?: { code?: unknown } };
        if (code === "ERR_INVALID_URL" || cause?.code === "ERR_INVALID_URL" || name === "RequestAuthorityError") {
          return new Response("Bad Request", {
            status: 400,
            headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff" },
          });
        }
        services.logger.error("request listener error", { error });
        return apiError("INTERNAL_ERROR", "Internal error");
      },
    }),
  );
  server.timeout = 60_000;

  let shuttingDown = false;
  const shutdown = (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    services.logger.info("shutting down", { signal });
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

try {
  await startServer();
} catch (error) {
  // A bad setting, an unwritable data folder, a port in use: one clear line, exit 1, no stack.
  const message =
    error instanceof ConfigError
      ? error.message
      : `PreqStation could not start: ${error instanceof Error ? error.message : String(error)}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
