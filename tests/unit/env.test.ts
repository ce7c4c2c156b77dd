import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "~/lib/env.server";

const SECRET = "test-secret-of-32-characters-abc";

function tempDb() {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), "preqstation-env-")), "data", "preqstation.db");
}

function errorOf(env: Record<string, string>): string {
  try {
    loadConfig({ DATABASE_PATH: ":memory:", SESSION_SECRET: SECRET, ...env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`no error for ${JSON.stringify(env)}`);
}

describe("configuration", () => {
  it("has the contract's defaults with no configuration at all", () => {
    const dbPath = tempDb();
    const config = loadConfig({ DATABASE_PATH: dbPath });
    expect(config).toMatchObject({
      port: 3000,
      host: "0.0.0.0",
      sessionMaxAgeSeconds: 86_400,
      sessionAbsoluteMaxAgeSeconds: 604_800,
      cookieSecure: true,
      allowedOrigins: [],
      publicOrigin: null,
      trustProxy: false,
      loginRateLimit: { max: 10, windowMs: 15 * 60_000 },
      apiRateLimit: { max: 100, windowMs: 15 * 60_000 },
      logLevel: "info",
      loginUntrustedRateLimit: { max: 10, windowMs: 15 * 60_000 },
      securityEventsRetentionDays: 90,
    });
    expect(loadConfig({ SESSION_SECRET: SECRET }).databasePath).toBe(path.resolve("data/preqstation.db"));
  });

  it("generates the session secret once, next to the database, readable by its owner only", () => {
    const dbPath = tempDb();
    const first = loadConfig({ DATABASE_PATH: dbPath });
    const file = path.join(path.dirname(dbPath), "session-secret");
    expect(first.sessionSecretFile).toBe(file);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(first.sessionSecrets).toHaveLength(1);
    expect(first.sessionSecrets[0]!.length).toBeGreaterThanOrEqual(32);
    expect(loadConfig({ DATABASE_PATH: dbPath }).sessionSecrets).toEqual(first.sessionSecrets);
  });

  it("tightens a secret file that others can read", () => {
    const dbPath = tempDb();
    const { sessionSecretFile } = loadConfig({ DATABASE_PATH: dbPath });
    fs.chmodSync(sessionSecretFile!, 0o644);
    loadConfig({ DATABASE_PATH: dbPath });
    expect(fs.statSync(sessionSecretFile!).mode & 0o777).toBe(0o600);
  });

  it("takes SESSION_SECRET as a list whose first element signs", () => {
    const other = "another-test-secret-of-40-characters-xyz";
    expect(loadConfig({ DATABASE_PATH: ":memory:", SESSION_SECRET: `${SECRET}, ${other}` }).sessionSecrets).toEqual([
      SECRET,
      other,
    ]);
  });

  it("refuses a session secret under 32 characters, naming the variable but not the secret", () => {
    const message = errorOf({ SESSION_SECRET: "short-but-secret-value" });
    expect(message).toContain("SESSION_SECRET");
    expect(message).toContain("32");
    expect(message).not.toContain("short-but-secret-value");
    expect(errorOf({ SESSION_SECRET: `${SECRET},` })).toContain("SESSION_SECRET");
  });

  it.each([
    ["one repeated character", "a".repeat(32)],
    ["one repeated character, long", "Z".repeat(200)],
    ["two characters", "ab".repeat(20)],
    ["seven characters", "0123456".repeat(6)],
  ])("refuses a session secret of %s, naming the variable but not the secret", (_, secret) => {
    const message = errorOf({ SESSION_SECRET: secret });
    expect(message).toMatch(/^Invalid configuration:\n {2}SESSION_SECRET: secret #1 of 1 uses only \d distinct characters?/);
    expect(message).not.toContain(secret);
    // also as the second secret of a rotation list
    expect(errorOf({ SESSION_SECRET: `${SECRET},${secret}` })).toContain("SESSION_SECRET: secret #2 of 2 uses only");
  });

  it("refuses a stored session-secret file of one repeated character", () => {
    const dbPath = tempDb();
    fs.mkdirSync(path.dirname(dbPath), { recursive: true });
    fs.writeFileSync(path.join(path.dirname(dbPath), "session-secret"), `${"a".repeat(48)}\n`, { mode: 0o600 });
    expect(() => loadConfig({ DATABASE_PATH: dbPath })).toThrow(
      /SESSION_SECRET: the stored secret in .* uses only 1 distinct character/,
    );
  });

  it("never refuses a generated secret, nor random hex or base64 ones", () => {
    for (let i = 0; i < 50; i++) {
      const dbPath = tempDb();
      expect(() => loadConfig({ DATABASE_PATH: dbPath })).not.toThrow();
      expect(() => loadConfig({ DATABASE_PATH: ":memory:", SESSION_SECRET: randomBytes(16).toString("hex") })).not.toThrow();
      expect(() => loadConfig({ DATABASE_PATH: ":memory:", SESSION_SECRET: randomBytes(24).toString("base64") })).not.toThrow();
    }
  });

  it.each([
    ["PORT", "eighty"],
    ["PORT", "70000"],
    ["SESSION_MAX_AGE", "1.5"],
    ["SESSION_ABSOLUTE_MAX_AGE", "-1"],
    ["COOKIE_SECURE", "maybe"],
    ["ALLOWED_ORIGINS", "preq.example.com"],
    ["ALLOWED_ORIGINS", "https://preq.example.com/path"],
    ["PUBLIC_ORIGIN", "preq.example.com"],
    ["PUBLIC_ORIGIN", "https://preq.example.com/mcp"],
    ["PUBLIC_ORIGIN", "ftp://preq.example.com"],
    ["TRUST_PROXY", "sometimes"],
    ["LOGIN_RATE_LIMIT", "10 per minute"],
    ["LOGIN_RATE_LIMIT", "0/15m"],
    ["API_RATE_LIMIT", "100/15y"],
    ["LOG_LEVEL", "verbose"],
    ["LOGIN_UNTRUSTED_RATE_LIMIT", "ten"],
    ["SECURITY_EVENTS_RETENTION_DAYS", "0"],
    ["SECURITY_EVENTS_RETENTION_DAYS", "1.5"],
    ["SECURITY_EVENTS_RETENTION_DAYS", "forever"],
  ])("refuses %s=%s with a message naming it", (name, value) => {
    expect(errorOf({ [name]: value })).toMatch(new RegExp(`^Invalid configuration:\\n  ${name}: `));
  });

  it("refuses an absolute session lifetime shorter than the idle one", () => {
    expect(errorOf({ SESSION_MAX_AGE: "7200", SESSION_ABSOLUTE_MAX_AGE: "3600" })).toContain("SESSION_ABSOLUTE_MAX_AGE");
  });

  it("parses the documented forms of each setting", () => {
    const config = loadConfig({
      DATABASE_PATH: ":memory:",
      SESSION_SECRET: SECRET,
      PORT: "8080",
      COOKIE_SECURE: "false",
      TRUST_PROXY: "true",
      ALLOWED_ORIGINS: "https://a.example.com, https://b.example.com/",
      PUBLIC_ORIGIN: "https://preq.example.com/",
      LOGIN_RATE_LIMIT: "3/1m",
      API_RATE_LIMIT: "50/1h",
      LOG_LEVEL: "warn",
      LOGIN_UNTRUSTED_RATE_LIMIT: "20/1h",
      SECURITY_EVENTS_RETENTION_DAYS: "30",
    });
    expect(config).toMatchObject({
      port: 8080,
      cookieSecure: false,
      trustProxy: true,
      allowedOrigins: ["https://a.example.com", "https://b.example.com"],
      publicOrigin: "https://preq.example.com",
      loginRateLimit: { max: 3, windowMs: 60_000 },
      apiRateLimit: { max: 50, windowMs: 3_600_000 },
      logLevel: "warn",
      loginUntrustedRateLimit: { max: 20, windowMs: 3_600_000 },
      securityEventsRetentionDays: 30,
    });
  });
});
