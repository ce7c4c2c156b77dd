import type SQLite from "better-sqlite3";
import type { Config } from "./env.server";
import { migrate, openDatabase, type Db, type DatabaseOptions } from "./db.server";
import { createLogger, type Logger } from "./logger.server";
import { RateLimiter } from "./rate-limit.server";
import { createSessionCookie, type SessionCookie } from "./session.server";
import { SetupCode } from "./setup.server";

/**
 * Everything a request handler needs that outlives one request. Built once by the
 * server (or by a test) and handed to Remix as load context, so no module holds
 * state of its own and tests can build as many independent instances as they like.
 */
export interface Services {
  config: Config;
  db: Db;
  sqlite: SQLite.Database;
  logger: Logger;
  sessionCookie: SessionCookie;
  setupCode: SetupCode;
  limiters: {
    /** Failed sign-in (and setup-code) attempts per client IP. */
    login: RateLimiter;
    /** API requests per token. */
    api: RateLimiter;
    /** Failed bearer attempts per client IP, before any token is known. */
    apiAuthFailures: RateLimiter;
  };
}

/** Per-request facts, computed by the server before Remix runs. */
export interface RequestInfo {
  id: string;
  clientIp: string;
  userAgent: string;
  cspNonce: string;
  /** Set by the session layer: a Set-Cookie the server must add to the response. */
  sessionCookieHeader?: string;
  /** The signed-in owner's session for this request, looked up once. */
  auth?: Promise<unknown>;
}

declare module "@remix-run/node" {
  interface AppLoadContext {
    services: Services;
    request: RequestInfo;
  }
}

export async function createServices(
  config: Config,
  options: { logger?: Logger; announceSetupCode?: (code: string) => void; database?: DatabaseOptions } = {},
): Promise<Services> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const { db, sqlite } = openDatabase(config.databasePath, options.database);
  try {
    await migrate(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const setupCode = new SetupCode();
  await setupCode.refresh(db, options.announceSetupCode);
  return {
    config,
    db,
    sqlite,
    logger,
    sessionCookie: createSessionCookie(config),
    setupCode,
    limiters: {
      login: new RateLimiter(config.loginRateLimit),
      api: new RateLimiter(config.apiRateLimit),
      // Generous, but bounded: enough for a misconfigured agent, not for a flood.
      apiAuthFailures: new RateLimiter({ max: Math.max(config.apiRateLimit.max, 100), windowMs: 15 * 60_000 }),
    },
  };
}
