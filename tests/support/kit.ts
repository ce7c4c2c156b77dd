/**
 * The shared test kit: what most tests need before their first assertion, built the
 * same way everywhere and cleaned up after.
 *
 *   testDatabase()        a migrated SQLite database (":memory:", a temp file, or a test server's file)
 *   testServices()        the full `Services` on a temp SQLite file, test audit key, quiet logger
 *   testOwner(db)         the owner row
 *   testToken(services)   an API token of a scope, created the way the console creates one
 *   testAudit             an audit context (the CLI as actor) signed with the test key
 *   signedIn(server)      a cookie jar for the signed-in owner of a running TestServer
 *
 * Cleanup: called inside a test or a `beforeEach`, a database or services object closes
 * itself (and removes its temp folder) when the test finishes. Called in `beforeAll`,
 * close it in `afterAll(() => x.close())`. `close()` is safe to call twice.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { onTestFinished } from "vitest";
import { createOwner } from "../../app/lib/auth/owner.server";
import { appendAudit, type AuditContext, type AuditInput } from "../../app/lib/audit/log.server";
import type { ApiDescription } from "../../app/lib/api/dispatch.server";
import { openApiDocument, type ApiRouteDoc } from "../../app/lib/api/openapi.server";
import type { ChangePublisher } from "../../app/lib/audit/actions";
import { createPasswordHasher, type PasswordDeps } from "../../app/lib/auth/password.server";
import type { CommandDeps } from "../../app/lib/command/command.server";
import type { ActorContext } from "../../app/lib/domain/context";
import { migrate, openDatabase, transaction, type DatabaseOptions, type Db, type OpenedDatabase } from "../../app/lib/db.server";
import { loadConfig } from "../../app/lib/env.server";
import { createLogger, type Logger } from "../../app/lib/logger.server";
import { createServices, type Services } from "../../app/server/services.server";
import { createApiToken, type CreatedToken } from "../../app/lib/tokens/tokens.server";
import type { Owner } from "../../db/schema";
import { TEST_AUDIT_KEY, testAuditSigner } from "./audit-key";
import { OWNER_EMAIL, OWNER_PASSWORD, postForm, setupOwner, signIn } from "./http";
import type { TestServer } from "./server";

export { TEST_AUDIT_KEY, testAuditSigner };

/** A session secret long enough for the config schema; tests never need a real one. */
export const TEST_SESSION_SECRET = "unit-test-session-secret-0123456789abcdef";

/** An audit context for changes made by tests: the CLI as actor, signed with the test key. */
export const testAudit: AuditContext = {
  actor: { type: "cli", id: "cli", label: "test" },
  ip: "local",
  userAgent: "vitest",
  requestId: "r-0",
  signer: testAuditSigner,
};

/**
 * Appends an audit entry in a transaction of its own: for tests that need entries in
 * the log (the app appends only inside a command's transaction, through `tx.audit`).
 */
export function auditInTransaction(db: Db, ctx: AuditContext, input: AuditInput, now?: number) {
  return transaction(db, (trx) => appendAudit(trx, ctx, input, now));
}

/** The password hasher of the tests' command deps. */
export const testPasswords = createPasswordHasher();

/** A change publisher that drops what it hears (tests that watch changes pass their own). */
export const noChanges: ChangePublisher = { publish: () => undefined };

/**
 * A command's `deps` and `ctx` from a database and an audit context, for calling a
 * domain command the way a route does: `createProject(...cmd(db, audit), input)`.
 */
export function cmd(
  db: Db,
  audit: AuditContext = testAudit,
  changes: ChangePublisher = noChanges,
): [CommandDeps & PasswordDeps, ActorContext] {
  const { signer, ...rest } = audit;
  return [
    { db, auditSigner: signer, changes, passwords: testPasswords },
    { ...rest, path: "test" },
  ];
}

/** A logger that drops everything (the default of the kit: test output stays readable). */
export const quietLogger: Logger = createLogger("error", () => undefined);

/** A fresh temp folder, removed by the caller (or by the kit's cleanup when the kit made it). */
export function testDir(prefix = "preq-test-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Runs `close` when the current test finishes; outside a test (a beforeAll) the caller closes. */
function closeAfterTest(close: () => Promise<void>): void {
  try {
    onTestFinished(close);
  } catch {
    // not inside a test or beforeEach: the caller owns the cleanup
  }
}

/** Makes `close` run once, however often it is called. */
function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}

export interface TestDatabase extends OpenedDatabase {
  /** The database file, or ":memory:". */
  dbPath: string;
  /** Closes the database and removes its temp folder. */
  close(): Promise<void>;
}

export interface TestDatabaseOptions {
  /** In a temp file instead of memory (removed on close). */
  file?: boolean;
  /**
   * An existing database file, such as a running test server's: opened as it is (not
   * migrated again) and left in place on close.
   */
  path?: string;
  /** `false`: left unmigrated, for a test that sets up an older schema or migrates by hand. */
  migrate?: boolean;
  /** `openDatabase`'s options (group commit). */
  open?: DatabaseOptions;
}

/**
 * A migrated database: in memory by default, or in a temp file (`{ file: true }`);
 * `{ path }` opens a database that exists already (a test server's).
 */
export async function testDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const dir = options.file && !options.path ? testDir("preq-db-") : null;
  const dbPath = options.path ?? (dir ? path.join(dir, "test.db") : ":memory:");
  const opened = openDatabase(dbPath, options.open);
  const close = once(async () => {
    await opened.db.destroy();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
  try {
    if (options.migrate ?? !options.path) await migrate(opened.db);
  } catch (error) {
    await close();
    throw error;
  }
  closeAfterTest(close);
  return { ...opened, dbPath, close };
}

export interface TestServices extends Services {
  /** The temp folder holding the database file. */
  dir: string;
  dbPath: string;
  /** Closes the database and removes the temp folder. */
  close(): Promise<void>;
}

/**
 * The full `Services`, as the server builds them, on a temp SQLite file: migrated, the
 * test audit signing key, a quiet logger. `env` adds or overrides settings
 * (`{ API_RATE_LIMIT: "2/1m" }`).
 */
export async function testServices(options: { env?: Record<string, string>; logger?: Logger } = {}): Promise<TestServices> {
  const dir = testDir("preq-services-");
  const dbPath = path.join(dir, "test.db");
  let services: Services;
  try {
    services = await createServices(
      loadConfig({
        DATABASE_PATH: dbPath,
        SESSION_SECRET: TEST_SESSION_SECRET,
        AUDIT_SIGNING_KEY: TEST_AUDIT_KEY,
        ...options.env,
      }),
      { logger: options.logger ?? quietLogger },
    );
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const closeServices = services.close.bind(services);
  const close = once(async () => {
    await closeServices();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  closeAfterTest(close);
  return Object.assign(services, { dir, dbPath, close });
}

/** The owner row (the password is never checked by tests that use this: sign-in tests hash a real one). */
export function testOwner(db: OpenedDatabase["db"], options: { email?: string; passwordHash?: string } = {}): Promise<Owner> {
  return createOwner(db, { email: options.email ?? OWNER_EMAIL, passwordHash: options.passwordHash ?? "not-used" });
}

/**
 * An API token for the owner (created with `testOwner` unless given), through the same
 * domain command the console uses, so it has its audit entry like any other.
 */
export async function testToken(
  services: Pick<Services, "db">,
  scope: "full" | "read" = "full",
  options: { owner?: Owner; name?: string; expiresInDays?: number | null; now?: number } = {},
): Promise<CreatedToken & { owner: Owner }> {
  const owner = options.owner ?? (await testOwner(services.db));
  const created = await createApiToken(
    ...cmd(services.db),
    { ownerId: owner.id, name: options.name ?? `test-${scope}`, scope, expiresInDays: options.expiresInDays ?? null },
    options.now,
  );
  return { ...created, owner };
}

/** A browser's cookies for one server: what Set-Cookie gave, sent back on every request. */
export interface CookieJar {
  /** The `Cookie` header value for the next request. */
  readonly cookie: string;
  /** The value of one cookie, or undefined. */
  get(name: string): string | undefined;
  /** GET (no redirect following), keeping any cookie the response sets. */
  page(path: string, headers?: Record<string, string>): Promise<Response>;
  /** A same-origin form POST (no redirect following), keeping any cookie the response sets. */
  post(path: string, fields: Record<string, string>, headers?: Record<string, string>): Promise<Response>;
}

function cookieJar(server: TestServer, initial: string): CookieJar {
  const cookies = new Map<string, string>();
  const take = (pair: string) => {
    const eq = pair.indexOf("=");
    if (eq > 0) cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  };
  initial.split(";").forEach(take);
  const keep = (response: Response) => {
    for (const set of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = set.split(";");
      const expired = attributes.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a)) || /^[^=]+=\s*$/.test(pair);
      if (expired) cookies.delete(pair.split("=", 1)[0]!.trim());
      else take(pair);
    }
    return response;
  };
  const header = () => [...cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  return {
    get cookie() {
      return header();
    },
    get: (name) => cookies.get(name),
    page: async (p, headers = {}) =>
      keep(await fetch(new URL(p, server.url), { redirect: "manual", headers: { ...headers, Cookie: header() } })),
    post: async (p, fields, headers = {}) => keep(await postForm(server, p, fields, { cookie: header(), headers })),
  };
}

const ownerCreated = new WeakSet<TestServer>();

/**
 * A cookie jar holding the owner's session on a running server: the owner is created
 * through /setup the first time (with the code the server printed), signed in through
 * /login after that.
 */
export async function signedIn(server: TestServer, credentials: { email?: string; password?: string } = {}): Promise<CookieJar> {
  const email = credentials.email ?? OWNER_EMAIL;
  const password = credentials.password ?? OWNER_PASSWORD;
  let cookie: string;
  if (server.setupCode && !ownerCreated.has(server)) {
    cookie = await setupOwner(server, email, password);
    ownerCreated.add(server);
  } else {
    cookie = await signIn(server, email, password);
  }
  return cookieJar(server, cookie);
}

/** The API description of a request handler with no API routes: for tests that build an AppLoadContext by hand. */
export const noApiRoutes: ApiDescription = {
  routes: [],
  openApiText: () => JSON.stringify(openApiDocument("test", [])),
};

/**
 * Every API route module's own OpenAPI description (`loader.openapi`), read from
 * app/routes the way describeApi reads them from the build.
 */
export async function apiRouteDocs(): Promise<ApiRouteDoc[]> {
  const dir = path.resolve(import.meta.dirname, "../../app/routes");
  const docs: ApiRouteDoc[] = [];
  for (const file of fs.readdirSync(dir).sort()) {
    if (!/^api\..*\.ts$/.test(file) || file === "api.$.ts") continue;
    const module = (await import(path.join(dir, file))) as { loader?: { openapi?: ApiRouteDoc } };
    if (module.loader?.openapi) docs.push(module.loader.openapi);
  }
  return docs;
}

/** The OpenAPI document the server serves, generated from the route modules. */
export async function routesOpenApiDocument(version: string): Promise<Record<string, unknown>> {
  return openApiDocument(version, await apiRouteDocs());
}
