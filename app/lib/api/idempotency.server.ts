import { createHash } from "node:crypto";
import type { IdempotencyRecord } from "../../../db/schema";
import { ApiError } from "./errors.server";
import { nowIso, transaction, type Db } from "../db.server";
import { parseJsonColumn, StringRecordSchema } from "../domain/json";

/**
 * Idempotency keys for POST: per token, the first response to a key is stored in
 * the same transaction as what it created and replayed for 24 h to a retry with
 * the same body; the same key with another body is a 409. Expired records are
 * purged lazily, by the next request that uses a key.
 */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
export const IDEMPOTENCY_HEADER = "Idempotency-Key";
/** 1–255 visible ASCII characters (the header here, the `idempotencyKey` argument of the MCP preq_create_task). */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The key from the header, null when absent; a 400 when it is not 1–255 visible ASCII characters. */
export function parseIdempotencyKey(request: Request): string | null {
  const value = request.headers.get(IDEMPOTENCY_HEADER);
  if (value === null) return null;
  if (!IDEMPOTENCY_KEY_PATTERN.test(value)) {
    throw new ApiError("VALIDATION_ERROR", `${IDEMPOTENCY_HEADER} must be 1–255 visible ASCII characters`, {
      details: [{ path: IDEMPOTENCY_HEADER, message: "Must be 1–255 visible ASCII characters" }],
    });
  }
  return value;
}

/** What makes two requests "the same": the route and the exact body. */
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

export function storedResponseOf(record: IdempotencyRecord): StoredResponse {
  return { status: record.status, headers: parseJsonColumn(record.headers, StringRecordSchema, {}), body: record.body };
}

/**
 * Runs `create` at most once per (token, key) within 24 h. Everything happens in
 * one BEGIN IMMEDIATE transaction, so two concurrent requests with the same key
 * cannot both create: the second waits, then finds the first one's record.
 */
export async function withIdempotency(
  db: Db,
  options: { tokenId: number; key: string; requestHash: string; now?: number },
  create: (trx: Db) => Promise<StoredResponse>,
): Promise<{ response: StoredResponse; replayed: boolean }> {
  const now = options.now ?? Date.now();
  return transaction(db, async (trx) => {
    await purgeExpiredIdempotencyKeys(trx, now);
    const existing = await findIdempotencyRecord(trx, options.tokenId, options.key, now);
    if (existing) {
      if (existing.request_hash !== options.requestHash) {
        throw new ApiError("CONFLICT", `${IDEMPOTENCY_HEADER} was already used with a different request body`);
      }
      return { response: storedResponseOf(existing), replayed: true };
    }
    const response = await create(trx);
    await trx
      .insertInto("idempotency_keys")
      .values({
        token_id: options.tokenId,
        key: options.key,
        request_hash: options.requestHash,
        status: response.status,
        headers: JSON.stringify(response.headers),
        body: response.body,
        created_at: nowIso(now),
        expires_at: nowIso(now + IDEMPOTENCY_TTL_MS),
      })
      .execute();
    return { response, replayed: false };
  });
}
