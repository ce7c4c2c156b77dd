import { createHash, randomBytes } from "node:crypto";
import { z } from "zod";
import { TOKEN_SCOPES, type ApiToken, type TokenScope } from "../../../db/schema";
import { runCommand, type CommandDeps } from "../command/command.server";
import { nowIso, type Db } from "../db.server";
import type { ActorContext } from "../domain/context";
import { DomainError } from "../domain/errors";
import { singleLineText } from "../domain/text";

/**
 * API tokens: `preq_` + 32 characters of A-Z a-z 0-9. Only the SHA-256 (hex) of a
 * token is stored, unique-indexed and looked up by that hash; the plaintext exists
 * once, in the response that created it. Tokens do not depend on the cookie secret.
 */
export const TOKEN_PREFIX = "preq_";
export const TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
export const TOKEN_BODY_LENGTH = 32;
/** The only shape a token can have; checked before any database lookup. */
export const TOKEN_PATTERN = /^preq_[A-Za-z0-9]{32}$/;

/** Bytes at or above this would make `byte % 62` favour the first characters: they are drawn again. */
const UNBIASED_BYTE_LIMIT = 256 - (256 % TOKEN_ALPHABET.length); // 248

export const TOKEN_NAME_MAX = 64;
export const MAX_EXPIRES_IN_DAYS = 3650;
const DAY_MS = 86_400_000;

/** The name shown on the API Keys page, in `token list` and in the audit log: single-line text (app/lib/text.ts). */
export const TokenNameSchema = singleLineText(TOKEN_NAME_MAX, {
  required: "Enter a name",
  empty: "Enter a name",
  tooLong: `Use at most ${TOKEN_NAME_MAX} characters`,
});

export const TokenScopeSchema = z.enum(TOKEN_SCOPES, { message: "Choose full or read" });

export const ExpiresInDaysSchema = z
  .number({ message: "Enter a whole number of days" })
  .int("Enter a whole number of days")
  .min(1, "Expiry must be at least 1 day")
  .max(MAX_EXPIRES_IN_DAYS, `Expiry must be at most ${MAX_EXPIRES_IN_DAYS} days`);

/**
 * A new token string. Each character takes one byte from `crypto.randomBytes`,
 * rejecting bytes ≥ 248 (rejection sampling), so all 62 characters are equally likely.
 * `random` is injectable only so a test can feed it chosen bytes.
 */
export function generateToken(random: (size: number) => Buffer = randomBytes): string {
  let body = "";
  while (body.length < TOKEN_BODY_LENGTH) {
    for (const byte of random(TOKEN_BODY_LENGTH + 8)) {
      if (byte >= UNBIASED_BYTE_LIMIT) continue;
      body += TOKEN_ALPHABET[byte % TOKEN_ALPHABET.length];
      if (body.length === TOKEN_BODY_LENGTH) break;
    }
  }
  return `${TOKEN_PREFIX}${body}`;
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** The display form of a token: `preq_ab12…yz89`. Never enough to use it. */
export function tokenHint(token: string): string {
  return `${token.slice(0, TOKEN_PREFIX.length + 4)}…${token.slice(-4)}`;
}

export function isWellFormedToken(value: string): boolean {
  return TOKEN_PATTERN.test(value);
}

export type TokenStatus = "active" | "expired" | "revoked";

export function tokenStatus(token: Pick<ApiToken, "revoked_at" | "expires_at">, now = Date.now()): TokenStatus {
  if (token.revoked_at !== null) return "revoked";
  if (token.expires_at !== null && Date.parse(token.expires_at) <= now) return "expired";
  return "active";
}

/** What a page or the CLI may show about a token: no hash, no owner id. */
export interface TokenSummary {
  id: number;
  name: string;
  hint: string;
  scope: TokenScope;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  last_used_ip: string | null;
  status: TokenStatus;
}

export function summarizeToken(token: ApiToken, now = Date.now()): TokenSummary {
  return {
    id: token.id,
    name: token.name,
    hint: token.hint,
    scope: token.scope,
    created_at: token.created_at,
    expires_at: token.expires_at,
    revoked_at: token.revoked_at,
    last_used_at: token.last_used_at,
    last_used_ip: token.last_used_ip,
    status: tokenStatus(token, now),
  };
}

export interface CreateTokenInput {
  ownerId: string;
  name: string;
  scope: TokenScope;
  /** null = never expires. */
  expiresInDays: number | null;
}

export interface CreatedToken {
  /** The token itself: show it once, store it nowhere. */
  plaintext: string;
  summary: TokenSummary;
}

/** `value` checked by `schema`, or a VALIDATION_ERROR DomainError naming `path` (callers validate first; this is the domain's own guard). */
function valid<S extends z.ZodType>(schema: S, value: unknown, path: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const message = result.error.issues[0]?.message ?? "Invalid";
  throw new DomainError("VALIDATION_ERROR", `${path}: ${message}`, [{ path, message }]);
}

/** Creates a token and its `api_token.create` audit entry in one transaction. Invalid input is a VALIDATION_ERROR DomainError. */
export async function createApiToken(
  deps: CommandDeps,
  ctx: ActorContext,
  input: CreateTokenInput,
  now = Date.now(),
): Promise<CreatedToken> {
  const name = valid(TokenNameSchema, input.name, "name");
  const scope = valid(TokenScopeSchema, input.scope, "scope");
  const days = input.expiresInDays === null ? null : valid(ExpiresInDaysSchema, input.expiresInDays, "expires_in_days");
  const plaintext = generateToken();
  const values = {
    owner_id: input.ownerId,
    name,
    token_hash: hashToken(plaintext),
    hint: tokenHint(plaintext),
    scope,
    created_at: nowIso(now),
    expires_at: days === null ? null : nowIso(now + days * DAY_MS),
    revoked_at: null,
    last_used_at: null,
    last_used_ip: null,
  };
  const row = await runCommand(deps, ctx, async (tx) => {
    const inserted = await tx.db.insertInto("api_tokens").values(values).returningAll().executeTakeFirstOrThrow();
    await tx.audit(
      {
        action: "api_token.create",
        resourceType: "api_token",
        resourceId: String(inserted.id),
        changes: {
          name: { before: null, after: inserted.name },
          scope: { before: null, after: inserted.scope },
          expires_at: { before: null, after: inserted.expires_at },
          hint: { before: null, after: inserted.hint },
        },
      },
      { now },
    );
    return inserted;
  });
  return { plaintext, summary: summarizeToken(row, now) };
}

/** The owner's tokens, newest first, as summaries (never hashes). */
export async function listApiTokens(db: Db, ownerId: string, now = Date.now()): Promise<TokenSummary[]> {
  const rows = await db.selectFrom("api_tokens").selectAll().where("owner_id", "=", ownerId).orderBy("id", "desc").execute();
  return rows.map((row) => summarizeToken(row, now));
}

export type RevokeResult =
  | { outcome: "revoked"; summary: TokenSummary }
  | { outcome: "already_revoked"; summary: TokenSummary }
  | { outcome: "not_found" };

/**
 * Revokes one of the owner's tokens at once, with its `api_token.revoke` audit
 * entry in the same transaction. Revoking again changes nothing (the first
 * `revoked_at` stays) and writes no second entry.
 */
export async function revokeApiToken(
  deps: CommandDeps,
  ctx: ActorContext,
  input: { ownerId: string; id: number },
  now = Date.now(),
): Promise<RevokeResult> {
  return runCommand(deps, ctx, async (tx) => {
    const trx = tx.db;
    const row = await trx
      .selectFrom("api_tokens")
      .selectAll()
      .where("id", "=", input.id)
      .where("owner_id", "=", input.ownerId)
      .executeTakeFirst();
    if (!row) return { outcome: "not_found" } as const;
    if (row.revoked_at !== null) return { outcome: "already_revoked", summary: summarizeToken(row, now) } as const;
    const revokedAt = nowIso(now);
    await trx
      .updateTable("api_tokens")
      .set({ revoked_at: revokedAt })
      .where("id", "=", row.id)
      .where("revoked_at", "is", null)
      .execute();
    await tx.audit(
      {
        action: "api_token.revoke",
        resourceType: "api_token",
        resourceId: String(row.id),
        changes: { revoked_at: { before: null, after: revokedAt } },
      },
      { now },
    );
    return { outcome: "revoked", summary: summarizeToken({ ...row, revoked_at: revokedAt }, now) } as const;
  });
}

/**
 * The owner's tokens that still work (not revoked, not expired), newest first. A
 * password change or reset does not revoke them: the Security page and the CLI's
 * `owner reset-password` show this list after one.
 */
export async function listLiveApiTokens(db: Db, ownerId: string, now = Date.now()): Promise<TokenSummary[]> {
  return (await listApiTokens(db, ownerId, now)).filter((t) => t.status === "active");
}

/**
 * Revokes every token of the owner that still works, at once ("Revoke all API tokens"
 * after a password change): in one transaction, each with its own `api_token.revoke`
 * audit entry. Returns how many were revoked (0 when none was live).
 */
export async function revokeAllApiTokens(
  deps: CommandDeps,
  ctx: ActorContext,
  input: { ownerId: string },
  now = Date.now(),
): Promise<number> {
  const revokedAt = nowIso(now);
  return runCommand(deps, ctx, async (tx) => {
    const revoked = await tx.db
      .updateTable("api_tokens")
      .set({ revoked_at: revokedAt })
      .where("owner_id", "=", input.ownerId)
      .where("revoked_at", "is", null)
      .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", revokedAt)]))
      .returning("id")
      .execute();
    for (const { id } of revoked.sort((a, b) => a.id - b.id)) {
      await tx.audit(
        {
          action: "api_token.revoke",
          resourceType: "api_token",
          resourceId: String(id),
          changes: { revoked_at: { before: null, after: revokedAt } },
        },
        { now },
      );
    }
    return revoked.length;
  });
}

/** The token row for a plaintext token, by its hash; undefined for anything malformed or unknown. */
export async function findTokenByPlaintext(db: Db, plaintext: string): Promise<ApiToken | undefined> {
  if (!isWellFormedToken(plaintext)) return undefined;
  return db.selectFrom("api_tokens").selectAll().where("token_hash", "=", hashToken(plaintext)).executeTakeFirst();
}

/** The stored last-used time is refreshed at most this often, so reads do not write. */
export const LAST_USED_INTERVAL_MS = 60_000;

/**
 * Records that a token was used, unless the stored time is less than a minute old.
 * Compares the value just read, so most requests issue no write at all.
 */
export async function touchTokenUsage(db: Db, token: ApiToken, ip: string, now = Date.now()): Promise<boolean> {
  if (token.last_used_at !== null && now - Date.parse(token.last_used_at) < LAST_USED_INTERVAL_MS) return false;
  const at = nowIso(now);
  await db
    .updateTable("api_tokens")
    .set({ last_used_at: at, last_used_ip: ip })
    .where("id", "=", token.id)
    .where((eb) => eb.or([eb("last_used_at", "is", null), eb("last_used_at", "<=", nowIso(now - LAST_USED_INTERVAL_MS))]))
    .execute();
  return true;
}
