import type SQLite from "better-sqlite3";
import { AuditKeyError, loadAuditSigner, type AuditSigner } from "./audit/signing.server";
import { sealLegacyAuditLog } from "./audit/log.server";
import { ConfigError, type Config } from "./env.server";
import type { Cookie } from "@remix-run/node";
import { createDeviceCookie } from "./auth/device-cookie.server";
import { migrate, openDatabase, type Db, type DatabaseOptions } from "./db.server";
import { createLogger, type Logger } from "./logger.server";
import { createChangeHub, type ChangeHub } from "./live/changes.server";
import { RateLimiter } from "./security/rate-limit.server";
import { pruneSecurityEvents } from "./security/events.server";
import { pruneOAuth } from "./oauth/oauth.server";
import { createSessionCookie, type SessionCookie } from "./auth/session.server";
import { SetupCode } from "./auth/setup.server";
import { DataKeyError, loadDataKey, type DataKey } from "./auth/two-factor/data-key.server";
import { startLeaseSweeper, type LeaseSweeper } from "./tasks/lease-sweeper.server";
import { PASSKEY_OPTIONS_RATE_LIMIT } from "./auth/two-factor/passkeys.server";

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
  /** The `device` cookie (see device-cookie.server.ts): which sign-in budget an attempt draws on. */
  deviceCookie: Cookie;
  setupCode: SetupCode;
  /** Signs every audit entry; its public key verifies them. The key never lives in the database. */
  auditSigner: AuditSigner;
  /** Encrypts second-factor secrets at rest and keys the recovery-code hashes. Never in the database. */
  dataKey: DataKey;
  /** Tells the owner's open live pages that tasks or projects changed (app/lib/live/changes.server.ts). */
  changes: ChangeHub;
  /** Frees tasks whose claim's lease ran out (contract §11); stopped by close(). */
  leaseSweeper: LeaseSweeper;
  limiters: {
    /** Failed sign-in (and setup-code, and current-password) attempts per client IP. */
    login: RateLimiter;
    /** Failed sign-ins per device cookie. */
    loginDevice: RateLimiter;
    /** Failed sign-ins without a valid device cookie, all clients together (one key). */
    loginUntrusted: RateLimiter;
    /** API requests per token. */
    api: RateLimiter;
    /** Anonymous passkey sign-in starts per client IP: each writes a challenge row. */
    passkeyOptions: RateLimiter;
    /** Failed bearer attempts per client IP, before any token is known. */
    apiAuthFailures: RateLimiter;
    /** OAuth dynamic client registrations per client IP (contract §9). */
    oauthRegister: RateLimiter;
  };
  /** Stops the hourly prune and closes the database. The server's shutdown and tests call it; once is enough. */
  close(): Promise<void>;
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
  /** Single fetch is on (remix.config.js): `useLoaderData<typeof loader>()` and `useActionData<typeof action>()` infer what `data()` sends. */
  interface Future {
    v3_singleFetch: true;
  }
}

/** How often old security events are pruned while the server runs. */
export const PRUNE_INTERVAL_MS = 60 * 60_000;

export async function createServices(
  config: Config,
  options: { logger?: Logger; announceSetupCode?: (code: string) => void; database?: DatabaseOptions } = {},
): Promise<Services> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const auditSigner = loadAuditSignerOrFail(config);
  const dataKey = loadDataKeyOrFail(config);
  const { db, sqlite } = openDatabase(config.databasePath, options.database);
  try {
    await migrate(db);
    const sealed = await sealLegacyAuditLog(db, auditSigner);
    if (sealed !== null) {
      logger.warn("audit log: entries written before signing began are now sealed by one signature", { throughSeq: sealed });
    }
  } catch (error) {
    await db.destroy();
    throw error;
  }
  // Old security events go at start and then hourly: a range delete on the created_at
  // index, never work done per request. The timer does not keep the process alive.
  const prune = () =>
    Promise.all([
      pruneSecurityEvents(db, config.securityEventsRetentionDays).catch((error: unknown) =>
        logger.warn("could not prune old security events", { error }),
      ),
      // Unused OAuth registrations (30 days), spent codes and expired OAuth tokens.
      pruneOAuth(db).catch((error: unknown) => logger.warn("could not prune OAuth records", { error })),
    ]);
  await prune();
  const pruneTimer = setInterval(() => void prune(), PRUNE_INTERVAL_MS);
  pruneTimer.unref();
  const setupCode = new SetupCode();
  try {
    await setupCode.refresh(db, options.announceSetupCode);
  } catch (error) {
    clearInterval(pruneTimer);
    await db.destroy();
    throw error;
  }
  let closed: Promise<void> | null = null;
  const changes = createChangeHub();
  const leaseSweeper = startLeaseSweeper({ deps: { db, auditSigner, changes }, logger });
  return {
    config,
    db,
    sqlite,
    logger,
    sessionCookie: createSessionCookie(config),
    deviceCookie: createDeviceCookie(config),
    setupCode,
    auditSigner,
    dataKey,
    changes,
    leaseSweeper,
    limiters: {
      login: new RateLimiter(config.loginRateLimit),
      loginDevice: new RateLimiter(config.loginRateLimit),
      loginUntrusted: new RateLimiter(config.loginUntrustedRateLimit, 1),
      api: new RateLimiter(config.apiRateLimit),
      passkeyOptions: new RateLimiter(PASSKEY_OPTIONS_RATE_LIMIT),
      // Generous, but bounded: enough for a misconfigured agent, not for a flood.
      apiAuthFailures: new RateLimiter({ max: Math.max(config.apiRateLimit.max, 100), windowMs: 15 * 60_000 }),
      // A client registers once per installation; a few retries are plenty.
      oauthRegister: new RateLimiter({ max: 20, windowMs: 60 * 60_000 }),
    },
    close() {
      clearInterval(pruneTimer);
      closed ??= leaseSweeper.stop().then(() => db.destroy());
      return closed;
    },
  };
}

/** The audit signing key (created on first start), with an unusable key file reported as configuration. */
export function loadAuditSignerOrFail(config: Config): AuditSigner {
  try {
    return loadAuditSigner(config, { create: true })!;
  } catch (error) {
    if (error instanceof AuditKeyError) throw new ConfigError(`Invalid configuration:\n  AUDIT_SIGNING_KEY: ${error.message}`);
    throw error;
  }
}

/** The data key (created on first start), with an unusable key file reported as configuration. */
export function loadDataKeyOrFail(config: Config): DataKey {
  try {
    return loadDataKey(config, { create: true })!;
  } catch (error) {
    if (error instanceof DataKeyError) throw new ConfigError(`Invalid configuration:\n  DATA_KEY: ${error.message}`);
    throw error;
  }
}
