import { createHash } from "node:crypto";
import type { IdempotencyRecord } from "../../../db/schema";
import { nowIso, transaction, type Db } from "../db.server";
import { DomainError } from "../domain/errors";
import { parseJsonColumn, StringRecordSchema } from "../domain/json";
import { deferredChanges, type CommandDeps } from "./command.server";

/**
 * Idempotent creates: per token, the first reply to a key is stored in the same
 * transaction as what it created and replayed for 24 h to a retry with the same
 * request; the same key with another request is a CONFLICT. Expired records are
 * purged lazily, by the next request that uses a key. The API route wrapper
 * (`Idempotency-Key` header) and the MCP create tool (`idempotency_key` argument)
 * both come here; neither opens a transaction itself.
 */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/** What a retry gets back: the first reply, as it was sent. */
export interface StoredReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface IdempotencyClaim {
  tokenId: number;
  key: string;
  /** What makes two requests "the same" (`requestHash`). */
  requestHash: string;
}

/** What makes two requests "the same": the route (or tool) and the exact body (or canonical arguments). */
export function requestHash(method: string, path: string, body: string): string {
  return createHash("sha256").update(`${method.toUpperCase()} ${path}\n`).update(body).digest("hex");
}

export async function purgeExpiredIdempotencyKeys(db: Db, now = Date.now()): Promise<number> {
  const result = await db.deleteFrom("idempotency_keys").where("expires_at", "<=", nowIso(now)).executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function findIdempotencyRecord(
  db: Db,
  tokenId: number,
  key: string,
  now = Date.now(),
): Promise<IdempotencyRecord | undefined> {
  return db
    .selectFrom("idempotency_keys")
    .selectAll()
    .where("token_id", "=", tokenId)
    .where("key", "=", key)
    .where("expires_at", ">", nowIso(now))
    .executeTakeFirst();
}

function storedReplyOf(record: IdempotencyRecord): StoredReply {
  return { status: record.status, headers: parseJsonColumn(record.headers, StringRecordSchema, {}), body: record.body };
}

/**
 * Runs `create` at most once per (token, key) within 24 h. The lookup, the command
 * `create` runs (given `deps` whose database is this transaction) and the stored
 * reply are one transaction, so two concurrent requests with the same key cannot
 * both create: the second waits, then finds the first one's record. The command's
 * changes are published only once that transaction has committed.
 */
export async function withIdempotency(
  deps: CommandDeps,
  claim: IdempotencyClaim,
  create: (deps: CommandDeps) => Promise<StoredReply>,
  now = Date.now(),
): Promise<{ reply: StoredReply; replayed: boolean }> {
  const held = deferredChanges(deps.changes);
  const outcome = await transaction(deps.db, async (trx) => {
    await purgeExpiredIdempotencyKeys(trx, now);
    const existing = await findIdempotencyRecord(trx, claim.tokenId, claim.key, now);
    if (existing) {
      if (existing.request_hash !== claim.requestHash) {
        throw new DomainError("CONFLICT", "Idempotency-Key was already used with a different request body");
      }
      return { reply: storedReplyOf(existing), replayed: true };
    }
    const reply = await create({ db: trx, auditSigner: deps.auditSigner, changes: held });
    await trx
      .insertInto("idempotency_keys")
      .values({
        token_id: claim.tokenId,
        key: claim.key,
        request_hash: claim.requestHash,
        status: reply.status,
        headers: JSON.stringify(reply.headers),
        body: reply.body,
        created_at: nowIso(now),
        expires_at: nowIso(now + IDEMPOTENCY_TTL_MS),
      })
      .execute();
    return { reply, replayed: false };
  });
  held.flush();
  return outcome;
}
