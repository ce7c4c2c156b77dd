import { createHash } from "node:crypto";
import type { AuditActorType, AuditChannel, AuditEntry } from "../../../db/schema";
import type { AuditAction, AuditResourceType } from "./actions";
import type { AuditSigner, AuditVerifier } from "./signing.server";
import { nowIso, transaction, type Db, type Trx } from "../db.server";
import { preparedInsert, preparedQuery } from "../prepared-query.server";

/** Who did something, and from where, and the key that signs the entry. Built once per request. */
export interface AuditContext {
  actor: { type: AuditActorType; id: string; label: string };
  ip: string;
  userAgent: string;
  requestId: string;
  /** `services.auditSigner`: signs each entry in the transaction that writes it. */
  signer: AuditSigner;
  /**
   * Through which door the change came. When absent it follows from the actor:
   * a token's change came through the API, the owner's through the web pages,
   * the CLI's through the CLI (the MCP endpoint always says `mcp`).
   */
  channel?: AuditChannel;
}

// The system (a lease's expiry, found by the sweeper or on access) acts through no door: no channel.
const DEFAULT_CHANNEL: Record<AuditActorType, AuditChannel | null> = { token: "api", owner: "web", cli: "cli", system: null };

export interface AuditInput {
  action: AuditAction;
  resourceType: AuditResourceType;
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
export function canonicalEntry(
  e: Omit<AuditEntry, "hash" | "prev_hash" | "signature" | "channel"> & { channel?: AuditChannel | null },
): string {
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

/** The chain's head: the newest entry's seq and hash. */
const auditHead = preparedQuery((db) => db.selectFrom("audit_log").select(["seq", "hash"]).orderBy("seq", "desc").limit(1));

const insertAuditEntry = preparedInsert(
  "audit_log",
  Object.keys({
    seq: 1,
    created_at: 1,
    actor_type: 1,
    actor_id: 1,
    actor_label: 1,
    action: 1,
    resource_type: 1,
    resource_id: 1,
    changes: 1,
    ip: 1,
    user_agent: 1,
    request_id: 1,
    channel: 1,
    prev_hash: 1,
    hash: 1,
    signature: 1,
  } satisfies Record<keyof AuditEntry, 1>) as (keyof AuditEntry)[],
);

/**
 * Appends one entry. This is the only writer of `audit_log`, and commands reach it only
 * through the command runner (`tx.audit`, app/lib/command). It takes the transaction of
 * the change it records (a `Trx`, which only `transaction()` hands out), so the change
 * and its entry commit or fail together.
 */
export async function appendAudit(trx: Trx, ctx: AuditContext, input: AuditInput, now = Date.now()): Promise<AuditEntry> {
  const tx = trx;
  {
    const head = await auditHead.first(tx, {});
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
    const hash = chainHash(prev_hash, canonicalEntry(base));
    const entry: AuditEntry = { ...base, prev_hash, hash, signature: ctx.signer.sign(base.seq, hash) };
    await insertAuditEntry.run(tx, entry);
    return entry;
  }
}

/**
 * Signs the newest entry written before signing began (recorded by the migration in
 * `audit_seal`), once. That signature covers every older entry through the chain.
 * Run by whatever opens the database holding the key (server start, the CLI), right
 * after migrating. Returns the sealed entry's seq, or null when there was nothing to do.
 */
export async function sealLegacyAuditLog(db: Db, signer: AuditSigner, now = Date.now()): Promise<number | null> {
  return transaction(db, async (tx) => {
    const seal = await tx.selectFrom("audit_seal").selectAll().where("id", "=", 1).executeTakeFirst();
    if (!seal || seal.seq === 0 || seal.signature !== null) return null;
    const entry = await tx.selectFrom("audit_log").select(["seq", "hash"]).where("seq", "=", seal.seq).executeTakeFirst();
    // Entries missing below the seal: leave it unsealed, so verification reports it.
    if (!entry) return null;
    await tx
      .updateTable("audit_seal")
      .set({ signature: signer.sign(entry.seq, entry.hash), sealed_at: nowIso(now) })
      .where("id", "=", 1)
      .where("signature", "is", null)
      .execute();
    return entry.seq;
  });
}

export type AuditVerifyResult =
  | {
      ok: true;
      count: number;
      lastSeq: number;
      headHash: string;
      /** The public key every signature was checked against. */
      publicKey: string;
      /** Entries 1..legacyThroughSeq were written before signing began (covered by the seal); 0 if none. */
      legacyThroughSeq: number;
      sealedAt: string | null;
    }
  | {
      ok: false;
      /** `unsealed`: nothing is wrong yet, but the entries from before signing have not been sealed. */
      problem: "tampered" | "unsealed";
      /** Entries proven before the problem. */
      count: number;
      badSeq: number;
      reason: string;
    };

/**
 * Walks the whole chain in order, in pages, and reports the first entry whose
 * sequence, link or hash does not match. Memory use is one page. Then checks the
 * signatures against `verifier`'s public key: the seal over the entries written before
 * signing began, and the newest entry's, which covers the whole chain. Recomputed
 * hashes after an edit or a deletion pass the walk but not these, because making a
 * signature needs the key. When a signature fails, a binary search over the signed
 * entries finds the first one that fails, to name where the log was changed.
 *
 * What this cannot see without more: entries cut off the end (a shorter log whose
 * newest entry is still signed) — `checkRecordedHead` with a head kept elsewhere —,
 * and a log re-signed by someone holding the key itself (or a replaced key, unless the
 * verifier's public key was kept elsewhere).
 */
export async function verifyAuditChain(db: Db, verifier: AuditVerifier, pageSize = 5_000): Promise<AuditVerifyResult> {
  const seal = await db.selectFrom("audit_seal").selectAll().where("id", "=", 1).executeTakeFirst();
  if (!seal) {
    return {
      ok: false,
      problem: "tampered",
      count: 0,
      badSeq: 0,
      reason: "the record of where signing began (audit_seal) was deleted",
    };
  }
  let prevHash = GENESIS_HASH;
  let expectedSeq = 1;
  let count = 0;
  let head: { seq: number; hash: string; signature: string | null } | null = null;
  let sealedHash: string | null = null;
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
        return {
          ok: false,
          problem: "tampered",
          count,
          badSeq: expectedSeq,
          reason: `entry ${expectedSeq} is missing (next is ${row.seq})`,
        };
      }
      if (row.prev_hash !== prevHash) {
        return {
          ok: false,
          problem: "tampered",
          count,
          badSeq: row.seq,
          reason: `entry ${row.seq} does not link to entry ${row.seq - 1}`,
        };
      }
      const { hash, prev_hash: _prev, signature, ...rest } = row;
      if (chainHash(prevHash, canonicalEntry(rest)) !== hash) {
        return {
          ok: false,
          problem: "tampered",
          count,
          badSeq: row.seq,
          reason: `entry ${row.seq} was changed after it was written`,
        };
      }
      if (row.seq === seal.seq) sealedHash = hash;
      head = { seq: row.seq, hash, signature };
      prevHash = hash;
      expectedSeq += 1;
      count += 1;
    }
    if (rows.length < pageSize) break;
  }
  const lastSeq = expectedSeq - 1;

  // The seal: entries 1..seal.seq predate signing and are covered by one signature.
  let provenThrough = 0;
  if (seal.seq > 0) {
    if (sealedHash === null) {
      return {
        ok: false,
        problem: "tampered",
        count: 0,
        badSeq: lastSeq + 1,
        reason: `entries were cut off the end: signing began after entry ${seal.seq}, but the log ends at entry ${lastSeq}`,
      };
    }
    if (seal.signature === null) {
      return {
        ok: false,
        problem: "unsealed",
        count: 0,
        badSeq: seal.seq,
        reason: `entries 1–${seal.seq} were written before audit signing began and are not sealed yet: start the server (or run \`preqstation migrate\`) once with the signing key, then verify again`,
      };
    }
    if (!verifier.verify(seal.seq, sealedHash, seal.signature)) {
      const firstSigned = await db
        .selectFrom("audit_log")
        .select(["seq", "hash", "signature"])
        .where("seq", ">", seal.seq)
        .where("signature", "is not", null)
        .orderBy("seq")
        .limit(1)
        .executeTakeFirst();
      const laterValid = firstSigned && verifier.verify(firstSigned.seq, firstSigned.hash, firstSigned.signature!);
      return {
        ok: false,
        problem: "tampered",
        count: 0,
        badSeq: seal.seq,
        reason: laterValid
          ? `the seal over entries 1–${seal.seq} (written before signing began) does not match: an entry at or before ${seal.seq} was changed and the later hashes recomputed`
          : `no signature verifies with public key ${verifier.publicKey}: the log was signed with another key, or rewritten from entry ${seal.seq} or earlier`,
      };
    }
    provenThrough = seal.seq;
  }

  // The newest entry's signature covers everything after the seal.
  if (head && head.seq > seal.seq) {
    if (head.signature === null) {
      return {
        ok: false,
        problem: "tampered",
        count: provenThrough,
        badSeq: head.seq,
        reason: `entry ${head.seq}, the newest, has no signature: it was added without the signing key`,
      };
    }
    if (!verifier.verify(head.seq, head.hash, head.signature)) {
      const { lastGood, firstBad } = await findFirstBadSignature(db, verifier, provenThrough, head.seq);
      let reason: string;
      if (lastGood === 0 && seal.seq === 0) {
        reason = `no signature verifies with public key ${verifier.publicKey}: the log was signed with another key, or rewritten from entry ${firstBad} or earlier`;
      } else if (lastGood === firstBad - 1) {
        reason = `entry ${firstBad} was changed (or replaced) after it was written and the later hashes recomputed: its signature no longer matches`;
      } else {
        reason = `an entry from ${lastGood + 1} to ${firstBad} was changed (or replaced) after it was written and the later hashes recomputed: entry ${firstBad}'s signature no longer matches`;
      }
      return { ok: false, problem: "tampered", count: lastGood, badSeq: firstBad, reason };
    }
  }

  return {
    ok: true,
    count,
    lastSeq,
    headHash: prevHash,
    publicKey: verifier.publicKey,
    legacyThroughSeq: seal.seq,
    sealedAt: seal.sealed_at,
  };
}

/**
 * Given a signed entry `bad` whose signature fails and a point `good` up to which the
 * log is proven (0 = nothing), narrows both down over the signed entries between them:
 * a recomputed chain leaves every signature before the change valid and every one from
 * it on invalid. O(log n) signature checks, each one indexed lookup.
 */
async function findFirstBadSignature(db: Db, verifier: AuditVerifier, good: number, bad: number) {
  const signedBetween = (from: number, to: number, newest: boolean) =>
    db
      .selectFrom("audit_log")
      .select(["seq", "hash", "signature"])
      .where("seq", ">", from)
      .where("seq", "<", to)
      .where("signature", "is not", null)
      .orderBy("seq", newest ? "desc" : "asc")
      .limit(1)
      .executeTakeFirst();
  let lo = good;
  let hi = bad;
  for (;;) {
    const mid = Math.floor((lo + hi) / 2);
    const row = (await signedBetween(mid, hi, false)) ?? (await signedBetween(lo, mid + 1, true));
    if (!row) return { lastGood: lo, firstBad: hi };
    if (verifier.verify(row.seq, row.hash, row.signature!)) lo = row.seq;
    else hi = row.seq;
  }
}

/** A head as `audit verify` prints it (`<seq>:<hash>`), or a bare hash as older versions printed it. */
export function parseRecordedHead(text: string): { seq: number | null; hash: string } | null {
  const m = /^(?:(\d{1,15}):)?([0-9a-f]{64})$/i.exec(text.trim());
  if (!m) return null;
  return { seq: m[1] === undefined ? null : Number(m[1]), hash: m[2]!.toLowerCase() };
}

export function formatHead(seq: number, hash: string): string {
  return `${seq}:${hash}`;
}

/**
 * Checks a head recorded elsewhere earlier against a chain that `verifyAuditChain`
 * accepted: the chain proves every entry up to its own head, and the recorded head
 * also proves nothing was cut off the end or rewritten since. Says which happened.
 */
export async function checkRecordedHead(
  db: Db,
  recorded: { seq: number | null; hash: string },
  chain: { lastSeq: number },
): Promise<{ ok: true; seq: number } | { ok: false; problem: "cut_off" | "changed" | "unknown"; reason: string }> {
  if (recorded.seq === 0) {
    if (recorded.hash === GENESIS_HASH) return { ok: true, seq: 0 };
    return { ok: false, problem: "changed", reason: "the recorded head 0 must be the genesis hash (64 zeros)" };
  }
  if (recorded.seq === null) {
    const found = await db.selectFrom("audit_log").select("seq").where("hash", "=", recorded.hash).executeTakeFirst();
    if (found) return { ok: true, seq: found.seq };
    return {
      ok: false,
      problem: "unknown",
      reason:
        "the recorded head is no longer in the chain: an entry was changed or entries were cut off the end (record heads as <seq>:<hash>, as `audit verify` prints them, to tell which)",
    };
  }
  if (recorded.seq > chain.lastSeq) {
    return {
      ok: false,
      problem: "cut_off",
      reason: `entries were cut off the end: the recorded head is entry ${recorded.seq}, but the log now ends at entry ${chain.lastSeq}`,
    };
  }
  const entry = await db.selectFrom("audit_log").select("hash").where("seq", "=", recorded.seq).executeTakeFirst();
  if (entry?.hash !== recorded.hash) {
    return {
      ok: false,
      problem: "changed",
      reason: `entry ${recorded.seq} is not the one recorded: it or an earlier entry was changed (or replaced) and the chain recomputed`,
    };
  }
  return { ok: true, seq: recorded.seq };
}
