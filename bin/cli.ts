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
import { auditVerifierFromPublicKey, loadAuditSigner, type AuditVerifier } from "../app/lib/audit/signing.server";
import {
  checkRecordedHead,
  formatHead,
  parseRecordedHead,
  sealLegacyAuditLog,
  verifyAuditChain,
} from "../app/lib/audit/log.server";
import { migrate, openDatabase, type DatabaseOptions, type OpenedDatabase } from "../app/lib/db.server";
import { cliContext } from "../app/lib/domain/context";
import { ConfigError, loadConfig, type Config } from "../app/lib/env.server";
import { loadAuditSignerOrFail } from "../app/server/services.server";
import { createOwnerFromCli } from "../app/lib/auth/owner-setup.server";
import { EmailSchema, getOwnerByEmail, NewPasswordSchema, ownerExists } from "../app/lib/auth/owner.server";
import { resetPassword } from "../app/lib/auth/password-change.server";
import { resetTwoFactor } from "../app/lib/auth/two-factor/totp-factor.server";
import { listLiveApiTokens } from "../app/lib/tokens/tokens.server";
import { CliError, cliDeps, type CliIo, type CommandHandler } from "./cli-support";
import { tokenCommands } from "./token-commands";

export { CliError, type CliContext, type CliIo, type CommandHandler } from "./cli-support";

export const USAGE = `Usage: preqstation <command>

  migrate                                   apply pending database migrations
  owner create --email E                    create the owner (password read from standard input)
  owner reset-password --email E            set a new password (from standard input); ends every session and
                                            sign-in challenge; lists the API tokens that still work
  owner 2fa reset --email E                 remove the owner's TOTP, recovery codes and passkeys (lost phone);
                                            ends every session; the password is unchanged
  token create --name N [--expires-in-days D] [--scope full|read]
                                            create an API token; prints it alone on standard output
  token list                                list API tokens (never the tokens themselves)
  token revoke <id>                         revoke an API token at once
  audit verify [--head H] [--public-key K]  check the audit log's hash chain and signatures; prints the public key
                                            and head to keep elsewhere. --public-key K: verify with a public key
                                            recorded earlier; --head H: a head recorded earlier is still in the log
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
  async migrate(args, { opened, io, signer }) {
    if (args.length) throw new CliError(`migrate takes no arguments`);
    const result = await migrate(opened.db);
    await sealLegacyAuditLog(opened.db, signer);
    const applied = result.results?.filter((r) => r.status === "Success").map((r) => r.migrationName) ?? [];
    io.stdout(
      applied.length
        ? `Applied ${applied.length} migration(s):\n${applied.map((m) => `  ${m}`).join("\n")}\n`
        : "Database is up to date.\n",
    );
  },

  async "owner create"(args, { opened, io, ctx, signer }) {
    const email = parseEmail(args);
    // Checked before the password is asked for; the command checks again (the database enforces it).
    if (await ownerExists(opened.db)) throw new CliError(OWNER_EXISTS);
    const password = await readPassword(io, "Password");
    const result = await createOwnerFromCli(cliDeps({ opened, signer }), ctx, { email, password });
    if (!result.ok) throw new CliError(OWNER_EXISTS);
    io.stdout(`Owner ${result.owner.email} created. Sign in at /login.\n`);
  },

  async "owner reset-password"(args, { opened, io, ctx, signer }) {
    const email = parseEmail(args);
    // Checked before the password is asked for; the command looks the owner up again in its transaction.
    if (!(await getOwnerByEmail(opened.db, email))) throw new CliError(`no owner with email ${email}`);
    const password = await readPassword(io, "New password");
    const result = await resetPassword(cliDeps({ opened, signer }), ctx, { email, newPassword: password });
    if (!result.ok) throw new CliError(`no owner with email ${email}`);
    io.stdout(`Password changed for ${result.owner.email}; ${result.sessionsEnded} session(s) ended.\n`);
    // A reset does not revoke API tokens: say which still work, and how to revoke them.
    const live = await listLiveApiTokens(opened.db, result.owner.id);
    if (live.length > 0) {
      io.stdout(
        `${live.length} API token(s) still work (a password reset does not revoke them):\n` +
          live.map((t) => `  ${t.id}\t${t.name}\t${t.scope}\tlast used ${t.last_used_at ?? "never"}\n`).join("") +
          "Revoke them all on /settings/security (Revoke all API tokens), or one by one with `token revoke <id>`.\n",
      );
    }
  },

  async "owner 2fa"(args, { opened, io, ctx, signer }) {
    if (args[0] !== "reset") throw new CliError("usage: preqstation owner 2fa reset --email E");
    const email = parseEmail(args.slice(1));
    const owner = await getOwnerByEmail(opened.db, email);
    if (!owner) throw new CliError(`no owner with email ${email}`);
    const result = await resetTwoFactor(cliDeps({ opened, signer }), ctx, { ownerId: owner.id });
    io.stdout(
      `Second factor reset for ${owner.email}: TOTP ${result.totpRemoved ? "removed" : "was off"}, ` +
        `${result.recoveryCodesRemoved} recovery code(s) and ${result.passkeysRemoved} passkey(s) removed; ` +
        `${result.sessionsEnded} session(s) ended. Sign in with the password and enrol again.\n`,
    );
  },

  async backup(args, { opened, io }) {
    if (args.length !== 1 || !args[0]) throw new CliError("usage: preqstation backup <file>");
    await writeBackup(opened, path.resolve(args[0]));
    io.stdout(`Backup written to ${path.resolve(args[0])}\n`);
  },

  ...tokenCommands,
};

const targetExists = (target: string) => new CliError(`${target} already exists; choose a new file name`);

/**
 * A consistent copy (SQLite's online backup API: a snapshot even while the server
 * writes) that appears at `target` only when complete, and never through a path
 * someone else can swap. SQLite opens its destination (and its journal) by name, so
 * it writes into a fresh private folder (mkdtemp, 0700) beside the target: nobody
 * else can put a symlink there between its creation and the write. The finished
 * file is then hard-linked to `target`, which fails on anything already there
 * (a file, or a symlink, dangling or not, which is never followed), and the private
 * folder is removed. The file holds the password hash: it is 0600.
 */
async function writeBackup(opened: OpenedDatabase, target: string): Promise<void> {
  const dir = path.dirname(target);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (fs.statSync(dir).isDirectory() === false) throw new CliError(`${dir} is not a folder`);
  try {
    fs.lstatSync(target);
    throw targetExists(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const work = fs.mkdtempSync(path.join(dir, ".preqstation-backup-"));
  try {
    fs.chmodSync(work, 0o700);
    const temp = path.join(work, "backup.db");
    const fd = fs.openSync(
      temp,
      fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
      0o600,
    );
    try {
      await opened.sqlite.backup(temp);
      // Still the file created above (same inode), now complete on disk.
      const held = fs.fstatSync(fd);
      const named = fs.lstatSync(temp);
      if (!named.isFile() || named.ino !== held.ino || named.dev !== held.dev)
        throw new CliError("the backup file was replaced while it was written");
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.linkSync(temp, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") throw targetExists(target);
      throw error;
    }
    fsyncFolder(dir);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function fsyncFolder(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * `audit verify`. It needs no private key and never creates one: with `--public-key`
 * it checks the signatures against a key recorded elsewhere (so a replaced key file
 * is caught); otherwise against the configured key (AUDIT_SIGNING_KEY or the key file).
 */
async function auditVerify(
  args: string[],
  { opened, io, config }: { opened: OpenedDatabase; io: CliIo; config: Config },
): Promise<void> {
  const { values } = parseArgs({ args, options: { head: { type: "string" }, "public-key": { type: "string" } }, strict: true });
  const recorded = values.head === undefined ? null : parseRecordedHead(values.head);
  if (values.head !== undefined && !recorded) {
    throw new CliError("--head: expected <seq>:<64 hex digits>, as `audit verify` prints it (or a bare 64-hex-digit hash)");
  }
  let verifier: AuditVerifier;
  if (values["public-key"] !== undefined) {
    const fromText = auditVerifierFromPublicKey(values["public-key"]);
    if (!fromText)
      throw new CliError("--public-key: not an Ed25519 public key (32 bytes as base64url, as `audit verify` prints it)");
    verifier = fromText;
  } else {
    const signer = loadAuditSigner(config, { create: false });
    if (!signer) {
      throw new CliError(
        `no audit signing key: ${config.auditKeyFile ?? "the key file"} does not exist and AUDIT_SIGNING_KEY is not set; pass --public-key K`,
      );
    }
    verifier = signer;
  }
  const result = await verifyAuditChain(opened.db, verifier);
  if (!result.ok) {
    const label = result.problem === "unsealed" ? "NOT VERIFIED" : "TAMPERED";
    io.stderr(
      `Audit log ${label}: ${result.reason}. First bad entry: ${result.badSeq} (${result.count} entries verified before it).\nPublic key used: ${verifier.publicKey}\n`,
    );
    throw new ExitCode(1);
  }
  if (recorded) {
    const head = await checkRecordedHead(opened.db, recorded, result);
    if (!head.ok) {
      io.stderr(`Audit log TAMPERED: ${head.reason}.\n`);
      throw new ExitCode(1);
    }
  }
  const lines = [
    result.count === 0
      ? "Audit log OK: no entries yet."
      : `Audit log OK: ${result.count} entries, chain and signatures verified up to entry ${result.lastSeq}.`,
    `Public key: ${result.publicKey}`,
    "  Keep a copy elsewhere: `audit verify --public-key <key>` then also catches a log re-signed with a replaced key.",
  ];
  if (result.legacyThroughSeq > 0) {
    lines.push(
      `Entries 1–${result.legacyThroughSeq} were written before signing began; one signature made ${result.sealedAt ?? "at upgrade"} covers them.`,
    );
  }
  lines.push(
    `Head: ${formatHead(result.lastSeq, result.headHash)}`,
    "  Keep a copy elsewhere: `audit verify --head <head>` then also catches entries cut off the end, or changed by someone holding the key.",
  );
  if (recorded) lines.push(`The recorded head is still in the log (entry ${recorded.seq ?? "found"}).`);
  io.stdout(`${lines.join("\n")}\n`);
}

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
  const verifying = two === "audit verify";
  const [name, rest] = commands[two] || verifying ? [two, argv.slice(2)] : [argv[0]!, argv.slice(1)];
  const handler = commands[name];
  if (!handler && !verifying) {
    io.stderr(`preqstation: unknown command "${argv.join(" ")}"\n\n${USAGE}\n`);
    return 2;
  }
  let opened: OpenedDatabase | undefined;
  try {
    const config = loadConfig(env);
    // Every command but `audit verify` may write audit entries: it loads (or creates) the key.
    const signer = verifying ? null : loadAuditSignerOrFail(config);
    opened = openDatabase(config.databasePath, database(config));
    if (name !== "migrate") await migrate(opened.db);
    if (signer && name !== "migrate") await sealLegacyAuditLog(opened.db, signer);
    if (verifying) {
      await auditVerify(rest, { opened, io, config });
      return 0;
    }
    const user = (() => {
      try {
        return os.userInfo().username;
      } catch {
        return "unknown";
      }
    })();
    const ctx = cliContext({ requestId: randomUUID(), user, host: os.hostname() });
    await handler!(rest, { opened, io, ctx, signer: signer! });
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
