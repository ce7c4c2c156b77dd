import { parseArgs } from "node:util";
import { getOwner } from "../app/lib/auth/owner.server";
import { visibleText } from "../app/lib/domain/text";
import {
  createApiToken,
  ExpiresInDaysSchema,
  listApiTokens,
  revokeApiToken,
  TokenNameSchema,
  TokenScopeSchema,
} from "../app/lib/tokens/tokens.server";
import { CliError, cliDeps, type CliContext, type CommandHandler } from "./cli-support";

/** The owner every token belongs to; tokens cannot exist before there is one. */
async function requireOwnerId({ opened }: CliContext): Promise<string> {
  const owner = await getOwner(opened.db);
  if (!owner) throw new CliError("no owner exists yet; create one first (open /setup, or run `owner create --email E`)");
  return owner.id;
}

function firstIssue(error: { issues: { message: string }[] }): string {
  return error.issues[0]?.message ?? "invalid";
}

/** `token create|list|revoke`. Audited with the CLI's actor; a token is printed only by `create`, once. */
export const tokenCommands: Record<string, CommandHandler> = {
  async "token create"(args, ctx) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        name: { type: "string" },
        "expires-in-days": { type: "string" },
        scope: { type: "string" },
      },
      strict: true,
      allowPositionals: true,
    });
    if (positionals.length) throw new CliError(`unexpected argument "${positionals[0]}"`);
    if (values.name === undefined) throw new CliError("--name is required");
    const name = TokenNameSchema.safeParse(values.name);
    if (!name.success) throw new CliError(`--name: ${firstIssue(name.error)}`);
    const scope = TokenScopeSchema.safeParse(values.scope ?? "full");
    if (!scope.success) throw new CliError(`--scope: must be full or read`);
    let expiresInDays: number | null = null;
    if (values["expires-in-days"] !== undefined) {
      const raw = values["expires-in-days"].trim();
      const days = ExpiresInDaysSchema.safeParse(/^\d{1,6}$/.test(raw) ? Number(raw) : Number.NaN);
      if (!days.success) throw new CliError(`--expires-in-days: must be a whole number from 1 to 3650`);
      expiresInDays = days.data;
    }
    const ownerId = await requireOwnerId(ctx);
    const { plaintext } = await createApiToken(cliDeps(ctx), ctx.ctx, {
      ownerId,
      name: name.data,
      scope: scope.data,
      expiresInDays,
    });
    // Only the token on stdout, so `TOKEN=$(npx preqstation token create --name x)` works.
    ctx.io.stdout(`${plaintext}\n`);
  },

  async "token list"(args, ctx) {
    if (args.length) throw new CliError("token list takes no arguments");
    const ownerId = await requireOwnerId(ctx);
    const tokens = await listApiTokens(ctx.opened.db, ownerId);
    if (tokens.length === 0) {
      ctx.io.stdout("No API tokens.\n");
      return;
    }
    const header = ["ID", "NAME", "HINT", "SCOPE", "STATUS", "CREATED", "EXPIRES", "LAST USED"];
    const rows = tokens.map((t) => [
      String(t.id),
      visibleText(t.name),
      t.hint,
      t.scope,
      t.status,
      t.created_at,
      t.expires_at ?? "never",
      t.last_used_at ? `${t.last_used_at} from ${t.last_used_ip ?? "?"}` : "never",
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) =>
      `${cells
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd()}\n`;
    ctx.io.stdout(line(header) + rows.map(line).join(""));
  },

  async "token revoke"(args, ctx) {
    const [raw, ...extra] = args;
    if (raw === undefined || extra.length) throw new CliError("usage: preqstation token revoke <id>");
    if (!/^\d{1,15}$/.test(raw) || Number(raw) < 1) throw new CliError(`"${raw}" is not a token id (see \`token list\`)`);
    const ownerId = await requireOwnerId(ctx);
    const result = await revokeApiToken(cliDeps(ctx), ctx.ctx, { ownerId, id: Number(raw) });
    if (result.outcome === "not_found") throw new CliError(`no token with id ${raw}`);
    if (result.outcome === "already_revoked") {
      ctx.io.stdout(`Token ${raw} (${visibleText(result.summary.name)}) was already revoked at ${result.summary.revoked_at}.\n`);
      return;
    }
    ctx.io.stdout(`Token ${raw} (${visibleText(result.summary.name)}) revoked; it is refused from the next request on.\n`);
  },
};
