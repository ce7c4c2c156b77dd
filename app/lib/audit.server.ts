import { createHash } from "node:crypto";
import type { AuditActorType, AuditChannel, AuditEntry } from "../../db/schema";
import { nowIso, transaction, type Db } from "./db.server";

/** Who did something, and from where. Built once per request. */
export interface AuditContext {
  actor: { type: AuditActorType; id: string; label: string };
  ip: string;
  userAgent: string;
  requestId: string;
  /**
   * Through which door the change came. When absent it follows from the actor:
   * a token's change came through the API, the owner's through the web pages,
   * the CLI's through the CLI (the MCP endpoint always says `mcp`).
   */
  channel?: AuditChannel;
}

const DEFAULT_CHANNEL: Record<AuditActorType, AuditChannel> = { token: "api", owner: "web", cli: "cli" };

export interface AuditInput {
  action: string;
  resourceType: string;
  resourceId: string;
  /** Changed fields with their values before and after. Never secrets. */
  changes: Record<string, { before: unknown; after: unknown }>;
}

export const GENESIS_HASH = "0".repeat(64);

/**
 * The fields a hash covers, in a fixed order, as one JSON array. The channel is
 * appended only when the entry has one: entries written before channels were
 * recorded keep the exact text (and hash) they were written with, and a channel
 * added to, removed from or changed on any entry breaks its hash.
 */
export function canonicalEntry(e: Omit<AuditEntry, "hash" | "prev_hash" | "channel"> & { channel?: AuditChannel | null }): string {
  const fields: unknown[] = [
    e.seq,
    e.created_at,
    e.actor_type,
    e.actor_id,
    e.actor_label,
    e.action,
    e.resource_type,
    e.resource_id,
    e.changes,
    e.ip,
    e.user_agent,
    e.request_id,
  ];
  if (e.channel !== null && e.channel !== undefined) fields.push(e.channel);
  return JSON.stringify(fields);
}

export function chainHash(prevHash: string, canonical: string): string {
  return createHash("sha256").update(prevHash).update("\n").update(canonical).digest("hex");
}

/**
 * Appends one entry. This is the only writer of `audit_log`. It must be given the
 * transaction of the change it records, so the change and its entry commit or
 * fail together; called outside a transaction, it opens its own.
 */
export async function appendAudit(trx: Db, ctx: AuditContext, input: AuditInput, now = Date.now()): Promise<AuditEntry> {
  return transaction(trx, async (tx) => {
    const head = await tx
      .selectFrom("audit_log")
      .select(["seq", "hash"])
      .orderBy("seq", "desc")
      .limit(1)
      .executeTakeFirst();
    const base = {
      seq: (head?.seq ?? 0) + 1,
      created_at: nowIso(now),
      actor_type: ctx.actor.type,
      actor_id: ctx.actor.id,
      actor_label: ctx.actor.label,
      action: input.action,
      resource_type: input.resourceType,
      resource_id: input.resourceId,
      changes: JSON.stringify(input.changes),
      ip: ctx.ip,
      user_agent: ctx.userAgent.slice(0, 512),
      request_id: ctx.requestId,
      channel: ctx.channel ?? DEFAULT_CHANNEL[ctx.actor.type],
    };
    const prev_hash = head?.hash ?? GENESIS_HASH;
    const entry: AuditEntry = { ...base, prev_hash, hash: chainHash(prev_hash, canonicalEntry(base)) };
    await tx.insertInto("audit_log").values(entry).execute();
    return entry;
  });
}

export type AuditVerifyResult =
  | { ok: true; count: number; lastSeq: number; headHash: string }
  | { ok: false; count: number; badSeq: number; reason: string };

/**
 * Walks the whole chain in order, in pages, and reports the first entry whose
 * sequence, link or hash does not match. Memory use is one page.
 */
export async function verifyAuditChain(db: Db, pageSize = 5_000): Promise<AuditVerifyResult> {
  let prevHash = GENESIS_HASH;
  let expectedSeq = 1;
  let count = 0;
  for (;;) {
    const rows = await db
      .selectFrom("audit_log")
      .selectAll()
      .where("seq", ">=", expectedSeq)
      .orderBy("seq")
      .limit(pageSize)
      .execute();
    for (const row of rows) {
      if (row.seq !== expectedSeq) {
        return { ok: false, count, badSeq: expectedSeq, reason: `entry ${expectedSeq} is missing (next is ${row.seq})` };
      }
      if (row.prev_hash !== prevHash) {
        return { ok: false, count, badSeq: row.seq, reason: `entry ${row.seq} does not link to entry ${row.seq - 1}` };
      }
      const { hash, prev_hash: _prev, ...rest } = row;
      if (chainHash(prevHash, canonicalEntry(rest)) !== hash) {
        return { ok: false, count, badSeq: row.seq, reason: `entry ${row.seq} was changed after it was written` };
      }
      prevHash = hash;
      expectedSeq += 1;
      count += 1;
    }
    if (rows.length < pageSize) return { ok: true, count, lastSeq: expectedSeq - 1, headHash: prevHash };
  }
}
