/**
 * What every CLI command shares: the error type whose message is for the user, the
 * terminal, and the context a command runs in. Its own module, so the command
 * modules (cli.ts, token-commands.ts) depend on it and never on each other.
 */
import type { AuditSigner } from "../app/lib/audit/signing.server";
import type { CommandDeps } from "../app/lib/command/command.server";
import type { OpenedDatabase } from "../app/lib/db.server";
import type { ActorContext } from "../app/lib/domain/context";
import { createPasswordHasher, type PasswordDeps } from "../app/lib/auth/password.server";

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
  /** This run, acted on by the CLI's actor (`cli (user@host)`): what the domain commands take. */
  ctx: ActorContext;
  /** Signs the audit entries this run writes. */
  signer: AuditSigner;
}

export type CommandHandler = (args: string[], ctx: CliContext) => Promise<void>;

/** What a domain command needs from this run: its database and signer; no live page listens to the CLI. */
export function cliDeps({ opened, signer }: Pick<CliContext, "opened" | "signer">): CommandDeps & PasswordDeps {
  return { db: opened.db, auditSigner: signer, changes: { publish: () => undefined }, passwords: createPasswordHasher() };
}
