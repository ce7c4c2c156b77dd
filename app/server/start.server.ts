/**
 * Starts the Node server: builds the services, listens, sets the timeouts that cut off
 * slow clients, and shuts down gracefully on SIGTERM/SIGINT. What happens to a request
 * (request ids, client IP, security headers, body ceiling, origin check, static files,
 * the API fast path) is the request handler's, app/server/handler.server.ts.
 * Started by main.ts (`npm start`, `node build/node/server.js` and the single
 * executable), which decides where the Remix build, the client files and the SQLite
 * addon come from.
 */
import http from "node:http";
import type { ServerBuild } from "@remix-run/node";
import type { DatabaseOptions } from "../lib/db.server";
import type { Config } from "../lib/env.server";
import { routeConsoleToLogger } from "../lib/logger.server";
import type { createAppHandler } from "./handler.server";
import type { StaticFiles } from "./runtime/static-files.server";
import type { createServices } from "./services.server";

/** What the server runs: the same code path for `npm start` and the single executable, only the sources differ. */
export interface ServerRuntime {
  /** The Remix server build. */
  build: ServerBuild;
  /** The client build (hashed assets, public files), already in memory. */
  staticFiles: StaticFiles;
  /** How to open the database (which SQLite addon). */
  database: DatabaseOptions;
}

/** What the server takes from the Remix build's entry module (app/entry.server.tsx re-exports them from here). */
interface AppServerEntry {
  createServices: typeof createServices;
  createAppHandler: typeof createAppHandler;
}

/** The build's own services and request handler factories: the copy of app/lib its routes run. */
function appServerEntry(build: ServerBuild): AppServerEntry {
  const entry = build.entry.module as Partial<AppServerEntry>;
  if (typeof entry.createServices !== "function" || typeof entry.createAppHandler !== "function") {
    throw new Error("the server build's entry module does not export createServices and createAppHandler");
  }
  return entry as AppServerEntry;
}

export async function startServer(config: Config, runtime: ServerRuntime): Promise<http.Server> {
  const { createServices, createAppHandler } = appServerEntry(runtime.build);
  const services = await createServices(config, {
    database: runtime.database,
    announceSetupCode: (code) => {
      process.stdout.write(`\nNo owner exists yet. Open /setup and enter this one-time code:\nSetup code: ${code}\n\n`);
    },
  });
  // Remix and its router write warnings (echoing request paths) and errors with console.*.
  routeConsoleToLogger(services.logger);
  const { listener } = createAppHandler(services, runtime.build, runtime.staticFiles);

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
    listener,
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
      void services.close().finally(() => {
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
  services.logger.info("listening", {
    url: `http://${config.host === "0.0.0.0" ? "localhost" : config.host}:${port}`,
    host: config.host,
    port,
    database: config.databasePath,
  });
  return server;
}
