/**
 * The admin CLI. Every command uses the same configuration (DATABASE_PATH, …) as
 * the server, prints results on stdout and errors on stderr, and returns a
 * non-zero exit code on any error.
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { Writable } from "node:stream";
import { parseArgs } from "node:util";
import type { AuditContext } from "../app/lib/audit.server";
import { appendAudit, verifyAuditChain } from "../app/lib/audit.server";
import { migrate, openDatabase, transaction, type DatabaseOptions, type OpenedDatabase } from "../app/lib/db.server";
import { ConfigError, loadConfig, type Config } from "../app/lib/env.server";
import {
  createOwner,
  EmailSchema,
  getOwnerByEmail,
  NewPasswordSchema,
  OwnerExistsError,
  ownerExists,
  updateOwnerPassword,
} from "../app/lib/owner.server";
import { hashPassword } from "../app/lib/password.server";
import { revokeOtherSessions } from "../app/lib/session.server";
import { recordSecurityEvent } from "../app/lib/security-events.server";
import { tokenCommands } from "./token-commands";

/** An error whose message is for the user, printed without a stack. */
export class CliError extends Error {
  override name = "CliError";
}

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Reads one line (a password) from standard input. */
  readLine: (prompt: string) => Promise<string>;
}

export interface CliContext {
  opened: OpenedDatabase;
  io: CliIo;
  audit: AuditContext;
}

export type CommandHandler = (args: string[], ctx: CliContext) => Promise<void>;

export const USAGE = `Usage: preqstation <command>

  migrate                                   apply pending database migrations
  owner create --email E                    create the owner (password read from standard input)
  owner reset-password --email E            set a new password (from standard input); ends every session
  token create --name N [--expires-in-days D] [--scope full|read]
                                            create an API token; prints it alone on standard output
  token list                                list API tokens (never the tokens themselves)
  token revoke <id>                         revoke an API token at once
  audit verify [--head H]                   check the audit log's hash chain (and that a recorded head H is still in it)
  backup <file>                             write a consistent copy of the database (safe while serving)

Configuration comes from the same environment variables as the server (DATABASE_PATH, …).`;

async function readPassword(io: CliIo, label: string): Promise<string> {
  const password = await io.readLine(`${label}: `);
  const parsed = NewPasswordSchema.safeParse(password);
  if (!parsed.success) throw new CliError(`password: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  return parsed.data;
}

function parseEmail(args: string[]): string {
  const { values } = parseArgs({ args, options: { email: { type: "string" } }, strict: true });
  if (!values.email) throw new CliError("--email is required");
  const parsed = EmailSchema.safeParse(values.email);
  if (!parsed.success) throw new CliError(`--email: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  return parsed.data;
}

const OWNER_EXISTS = "an owner already exists on this instance; use `owner reset-password` instead";

const commands: Record<string, CommandHandler> = {
  async migrate(args, { opened, io }) {
    if (args.length) throw new CliError(`migrate takes no arguments`);
    const result = await migrate(opened.db);
    const applied = result.results?.filter((r) => r.status === "Success").map((r) => r.migrationName) ?? [];
    io.stdout(applied.length ? `Applied ${applied.length} migration(s):\n${applied.map((m) => `  ${m}`).join("\n")}\n` : "Database is up to date.\n");
  },

  async "owner create"(args, { opened, io, audit }) {
    const email = parseEmail(args);
    if (await ownerExists(opened.db)) throw new CliError(OWNER_EXISTS);
    const password = await readPassword(io, "Password");
    try {
      const owner = await createOwner(opened.db, { email, passwordHash: await hashPassword(password) });
      await recordSecurityEvent(opened.db, { type: "setup", outcome: "success", ip: audit.ip, userAgent: audit.userAgent, path: "cli", details: { email: owner.email, via: "cli" } });
      io.stdout(`Owner ${owner.email} created. Sign in at /login.\n`);
    } catch (error) {
      if (error instanceof OwnerExistsError) throw new CliError(OWNER_EXISTS);
      throw error;
    }
  },

  async "owner reset-password"(args, { opened, io, audit }) {
    const email = parseEmail(args);
    const owner = await getOwnerByEmail(opened.db, email);
    if (!owner) throw new CliError(`no owner with email ${email}`);
    const password = await readPassword(io, "New password");
    const passwordHash = await hashPassword(password);
    const ended = await transaction(opened.db, async (trx) => {
      await updateOwnerPassword(trx, owner.id, passwordHash);
      const n = await revokeOtherSessions(trx, owner.id, null);
      await recordSecurityEvent(trx, { type: "password_changed", outcome: "success", ip: audit.ip, userAgent: audit.userAgent, path: "cli", details: { via: "cli", sessions_ended: n } });
      // Never the password or its hash: only that it changed, and what it ended.
      await appendAudit(trx, audit, {
        action: "owner.password_reset",
        resourceType: "owner",
        resourceId: owner.id,
        changes: { password: { before: "[redacted]", after: "[changed]" }, sessions: { before: n, after: 0 } },
      });
      return n;
    });
    io.stdout(`Password changed for ${owner.email}; ${ended} session(s) ended.\n`);
  },

  async "audit verify"(args, { opened, io }) {
    const { values } = parseArgs({ args, options: { head: { type: "string" } }, strict: true });
    const result = await verifyAuditChain(opened.db);
    if (!result.ok) {
      io.stderr(`Audit log TAMPERED: ${result.reason}. First bad entry: ${result.badSeq} (${result.count} entries verified before it).\n`);
      throw new ExitCode(1);
    }
    // The chain proves every entry up to the head; a head recorded elsewhere earlier
    // (--head) also proves that no entries were cut off the end since.
    if (values.head !== undefined) {
      const recorded = await opened.db.selectFrom("audit_log").select("seq").where("hash", "=", values.head.trim().toLowerCase()).executeTakeFirst();
      if (!recorded) {
        io.stderr(`Audit log TAMPERED: the recorded head ${values.head} is no longer in the chain (entries were removed from its end).\n`);
        throw new ExitCode(1);
      }
    }
    io.stdout(`Audit log OK: ${result.count} entries, chain verified up to entry ${result.lastSeq}.\nHead: ${result.headHash}\n`);
  },

  async backup(args, { opened, io }) {
    if (args.length !== 1 || !args[0]) throw new CliError("usage: preqstation backup <file>");
    const target = path.resolve(args[0]);
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
    // Create the file first, exclusively and readable by this user only: it will hold
    // the password hash, and an existing file is never overwritten. SQLite treats an
    // empty file as an empty database to copy into.
    try {
      fs.closeSync(fs.openSync(target, "wx", 0o600));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") throw new CliError(`${target} already exists; choose a new file name`);
      throw error;
    }
    try {
      // SQLite's online backup API: a consistent snapshot even while the server writes.
      await opened.sqlite.backup(target);
    } catch (error) {
      fs.rmSync(target, { force: true });
      throw error;
    }
    io.stdout(`Backup written to ${target}\n`);
  },

  ...tokenCommands,
};

/** Thrown to end with a given exit code after the command printed its own message. */
export class ExitCode extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function defaultIo(): CliIo {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    readLine: (prompt) => readLineFromStdin(prompt),
  };
}

/**
 * One line from stdin. On a terminal it prompts on stderr and echoes nothing of
 * what is typed (the prompt goes through a stream that is muted after it).
 */
function readLineFromStdin(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const tty = Boolean(process.stdin.isTTY);
    let muted = false;
    const output = new Writable({
      write(chunk, _encoding, callback) {
        if (!muted) process.stderr.write(chunk);
        callback();
      },
    });
    const rl = readline.createInterface({ input: process.stdin, output: tty ? output : undefined, terminal: tty });
    if (tty) {
      rl.setPrompt(prompt);
      rl.prompt();
      muted = true;
    }
    let done = false;
    rl.once("line", (line) => {
      done = true;
      rl.close();
      if (tty) process.stderr.write("\n");
      resolve(line.replace(/\r$/, ""));
    });
    rl.once("close", () => {
      if (!done) reject(new CliError("no password on standard input"));
    });
  });
}

/**
 * Runs one command. `database` says how to open the database once the configuration is
 * known (the single executable unpacks its SQLite addon there); by default, from node_modules.
 */
export async function main(
  argv: string[],
  io: CliIo = defaultIo(),
  env = process.env,
  database: (config: Config) => DatabaseOptions = () => ({}),
): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    (argv.length === 0 ? io.stderr : io.stdout)(`${USAGE}\n`);
    return argv.length === 0 ? 2 : 0;
  }
  const two = `${argv[0]} ${argv[1] ?? ""}`;
  const [name, rest] = commands[two] ? [two, argv.slice(2)] : [argv[0]!, argv.slice(1)];
  const handler = commands[name];
  if (!handler) {
    io.stderr(`preqstation: unknown command "${argv.join(" ")}"\n\n${USAGE}\n`);
    return 2;
  }
  let opened: OpenedDatabase | undefined;
  try {
    const config = loadConfig(env);
    opened = openDatabase(config.databasePath, database(config));
    if (name !== "migrate") await migrate(opened.db);
    const user = (() => {
      try {
        return os.userInfo().username;
      } catch {
        return "unknown";
      }
    })();
    const audit: AuditContext = {
      actor: { type: "cli", id: "cli", label: `cli (${user}@${os.hostname()})` },
      ip: "local",
      userAgent: "preqstation-cli",
      requestId: randomUUID(),
    };
    await handler(rest, { opened, io, audit });
    return 0;
  } catch (error) {
    if (error instanceof ExitCode) return error.code;
    if (error instanceof CliError || error instanceof ConfigError) {
      io.stderr(`preqstation: ${error.message}\n`);
      return 1;
    }
    if (error instanceof TypeError && (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      io.stderr(`preqstation: ${error.message}\n`);
      return 2;
    }
    io.stderr(`preqstation: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    await opened?.db.destroy();
  }
}

