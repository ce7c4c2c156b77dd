import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { auditKeyFileFor, decodeKey } from "./key-file.server";

/**
 * Configuration, parsed once at start from the variables in contract §2.
 * Every value has an embedded default, so `npm start` needs no configuration.
 * An invalid value fails start-up with a message naming the variable.
 */
export interface Config {
  port: number;
  host: string;
  databasePath: string;
  /** HMAC keys for the session cookie: the first signs, all verify. */
  sessionSecrets: string[];
  /** Where the generated secret lives, or null when SESSION_SECRET was given. */
  sessionSecretFile: string | null;
  sessionMaxAgeSeconds: number;
  sessionAbsoluteMaxAgeSeconds: number;
  cookieSecure: boolean;
  allowedOrigins: string[];
  /**
   * The origin users and agents reach this server at (PUBLIC_ORIGIN), or null. When set,
   * `/mcp` answers only requests whose Host is this origin's, and a browser's Origin
   * there must be it or one of `allowedOrigins` (no DNS-rebound name passes).
   */
  publicOrigin: string | null;
  trustProxy: boolean;
  loginRateLimit: RateLimitSpec;
  /** Failed sign-ins per window across every client without a valid device cookie. */
  loginUntrustedRateLimit: RateLimitSpec;
  apiRateLimit: RateLimitSpec;
  logLevel: LogLevel;
  /** The audit-log signing seed from AUDIT_SIGNING_KEY, or null to use `auditKeyFile`. */
  auditSigningKey: Buffer | null;
  /** `<db folder>/audit-key` (created 0600 on first start), or null for an in-memory database. */
  auditKeyFile: string | null;
  /** Security events older than this many days are deleted (at start and hourly). */
  securityEventsRetentionDays: number;
  /** Seconds after a sign-in or `/sudo` during which sensitive owner actions need no new password. */
  sudoMaxAgeSeconds: number;
  /** The second-factor data key from DATA_KEY, or null to use `dataKeyFile`. */
  dataKey: Buffer | null;
  /** `<db folder>/data-key` (created 0600 on first start), or null for an in-memory database. */
  dataKeyFile: string | null;
}

export interface RateLimitSpec {
  max: number;
  windowMs: number;
  /** As written, e.g. `10/15m`. */
  text: string;
}

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export class ConfigError extends Error {
  override name = "ConfigError";
}

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

const rateLimit = z
  .string()
  .trim()
  .regex(/^\d{1,7}\/\d{1,5}[smhd]$/, "must look like 10/15m (count/window with unit s, m, h or d)")
  .transform((text, ctx): RateLimitSpec => {
    const [count, window] = text.split("/") as [string, string];
    const max = Number(count);
    const windowMs = Number(window.slice(0, -1)) * UNIT_MS[window.slice(-1) as keyof typeof UNIT_MS];
    if (max < 1 || windowMs < 1_000) {
      ctx.addIssue({ code: "custom", message: "count and window must both be positive" });
      return z.NEVER;
    }
    return { max, windowMs, text };
  });

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"], { message: "must be true or false" })
  .transform((v) => v === "true" || v === "1" || v === "yes");

const seconds = z.coerce
  .number({ message: "must be a whole number of seconds" })
  .int("must be a whole number of seconds")
  .min(60, "must be at least 60 seconds")
  .max(31_536_000, "must be at most one year");

const origin = z.string().transform((value, ctx) => {
  try {
    const url = new URL(value);
    if ((url.protocol === "http:" || url.protocol === "https:") && url.origin === value.replace(/\/$/, "")) {
      return url.origin;
    }
  } catch {
    // fall through to the issue below
  }
  ctx.addIssue({ code: "custom", message: `"${value}" is not a full origin such as https://preq.example.com` });
  return z.NEVER;
});

const EnvSchema = z.object({
  PORT: z.coerce
    .number({ message: "must be a port number from 0 to 65535" })
    .int("must be a port number from 0 to 65535")
    .min(0, "must be a port number from 0 to 65535")
    .max(65_535, "must be a port number from 0 to 65535")
    .default(3000),
  HOST: z.string().trim().min(1).default("0.0.0.0"),
  DATABASE_PATH: z.string().trim().min(1).default("./data/preqstation.db"),
  SESSION_SECRET: z.string().optional(),
  SESSION_MAX_AGE: seconds.default(86_400),
  SESSION_ABSOLUTE_MAX_AGE: seconds.default(604_800),
  COOKIE_SECURE: bool.default(true),
  ALLOWED_ORIGINS: z
    .string()
    .default("")
    .transform((s) =>
      s
        .split(",")
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .pipe(z.array(origin)),
  PUBLIC_ORIGIN: z.string().trim().pipe(origin).optional(),
  TRUST_PROXY: bool.default(false),
  LOGIN_RATE_LIMIT: rateLimit.prefault("10/15m"),
  LOGIN_UNTRUSTED_RATE_LIMIT: rateLimit.prefault("10/15m"),
  API_RATE_LIMIT: rateLimit.prefault("100/15m"),
  LOG_LEVEL: z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(", ")}` }).default("info"),
  AUDIT_SIGNING_KEY: z
    .string()
    .transform((text, ctx) => {
      const decoded = decodeKey(text);
      if (decoded.ok) return decoded.key;
      ctx.addIssue({ code: "custom", message: decoded.message });
      return z.NEVER;
    })
    .optional(),
  SECURITY_EVENTS_RETENTION_DAYS: z.coerce
    .number({ message: "must be a whole number of days from 1 to 3650" })
    .int("must be a whole number of days from 1 to 3650")
    .min(1, "must be a whole number of days from 1 to 3650")
    .max(3650, "must be a whole number of days from 1 to 3650")
    .default(90),
  SUDO_MAX_AGE: z.coerce
    .number({ message: "must be a whole number of seconds from 1 to 86400" })
    .int("must be a whole number of seconds from 1 to 86400")
    .min(1, "must be a whole number of seconds from 1 to 86400")
    .max(86_400, "must be a whole number of seconds from 1 to 86400")
    .default(900),
  DATA_KEY: z
    .string()
    .transform((text, ctx) => {
      const decoded = decodeKey(text);
      if (decoded.ok) return decoded.key;
      ctx.addIssue({ code: "custom", message: decoded.message });
      return z.NEVER;
    })
    .optional(),
});

export const MIN_SECRET_LENGTH = 32;
/**
 * A secret written with fewer distinct characters than this (`aaaa…`, `abcabc…`,
 * `0000…1111…`) has almost no entropy whatever its length. Random secrets are far
 * above it: 32 random hex digits hold 16 distinct ones all but certainly, and the
 * generated 64-character base64url secret about 40.
 */
export const MIN_SECRET_DISTINCT_CHARACTERS = 8;

/** Why a session secret is refused (without repeating it), or null when it is acceptable. */
export function weakSecretReason(secret: string): string | null {
  if (secret.length < MIN_SECRET_LENGTH) return `is shorter than ${MIN_SECRET_LENGTH} characters`;
  const distinct = new Set(secret).size;
  if (distinct < MIN_SECRET_DISTINCT_CHARACTERS) {
    return `uses only ${distinct} distinct character${distinct === 1 ? "" : "s"} (at least ${MIN_SECRET_DISTINCT_CHARACTERS} needed); use a random value, e.g. from \`openssl rand -base64 48\``;
  }
  return null;
}

/**
 * Parses the environment. Empty strings count as unset, so `PORT=` means the default.
 * The session secret is read from SESSION_SECRET, or else from (or generated into)
 * `<db folder>/session-secret` with mode 0600.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned = Object.fromEntries(
    Object.keys(EnvSchema.shape).flatMap((key) => {
      const value = env[key];
      return value === undefined || value.trim() === "" ? [] : [[key, value]];
    }),
  );
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${String(issue.path[0] ?? "environment")}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  if (e.SESSION_ABSOLUTE_MAX_AGE < e.SESSION_MAX_AGE) {
    throw new ConfigError("Invalid configuration:\n  SESSION_ABSOLUTE_MAX_AGE: must not be shorter than SESSION_MAX_AGE");
  }

  const databasePath = e.DATABASE_PATH === ":memory:" ? ":memory:" : path.resolve(e.DATABASE_PATH);
  let sessionSecrets: string[];
  let sessionSecretFile: string | null = null;
  if (e.SESSION_SECRET !== undefined) {
    sessionSecrets = e.SESSION_SECRET.split(",").map((s) => s.trim());
    const weak = sessionSecrets.findIndex((s) => weakSecretReason(s) !== null);
    if (weak !== -1) {
      throw new ConfigError(
        `Invalid configuration:\n  SESSION_SECRET: secret #${weak + 1} of ${sessionSecrets.length} ${weakSecretReason(sessionSecrets[weak]!)}`,
      );
    }
  } else {
    sessionSecretFile = databasePath === ":memory:" ? null : path.join(path.dirname(databasePath), "session-secret");
    sessionSecrets = [sessionSecretFile ? readOrCreateSecret(sessionSecretFile) : randomBytes(32).toString("base64url")];
  }

  return {
    port: e.PORT,
    host: e.HOST,
    databasePath,
    sessionSecrets,
    sessionSecretFile,
    sessionMaxAgeSeconds: e.SESSION_MAX_AGE,
    sessionAbsoluteMaxAgeSeconds: e.SESSION_ABSOLUTE_MAX_AGE,
    cookieSecure: e.COOKIE_SECURE,
    allowedOrigins: e.ALLOWED_ORIGINS,
    publicOrigin: e.PUBLIC_ORIGIN ?? null,
    trustProxy: e.TRUST_PROXY,
    loginRateLimit: e.LOGIN_RATE_LIMIT,
    loginUntrustedRateLimit: e.LOGIN_UNTRUSTED_RATE_LIMIT,
    apiRateLimit: e.API_RATE_LIMIT,
    logLevel: e.LOG_LEVEL,
    auditSigningKey: e.AUDIT_SIGNING_KEY ?? null,
    auditKeyFile: databasePath === ":memory:" ? null : auditKeyFileFor(databasePath),
    securityEventsRetentionDays: e.SECURITY_EVENTS_RETENTION_DAYS,
    sudoMaxAgeSeconds: e.SUDO_MAX_AGE,
    dataKey: e.DATA_KEY ?? null,
    dataKeyFile: databasePath === ":memory:" ? null : path.join(path.dirname(databasePath), "data-key"),
  };
}

/** Reads the persisted secret, creating it (0600, exclusive create) on first start. */
function readOrCreateSecret(file: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    fs.writeFileSync(file, `${randomBytes(48).toString("base64url")}\n`, { flag: "wx", mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const stat = fs.statSync(file);
  if ((stat.mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
  const secret = fs.readFileSync(file, "utf8").trim();
  const weak = weakSecretReason(secret);
  if (weak) throw new ConfigError(`Invalid configuration:\n  SESSION_SECRET: the stored secret in ${file} ${weak}`);
  return secret;
}
