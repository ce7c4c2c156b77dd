import { randomUUID } from "node:crypto";
import type SQLite from "better-sqlite3";
import type { AuditActorType, AuditEntry } from "../../db/schema";
import type { AuditSigner } from "../../app/lib/audit/signing.server";
import { canonicalEntry, chainHash, GENESIS_HASH } from "../../app/lib/audit/log.server";

/**
 * Fills the audit log with synthetic entries, fast, for tests and benchmarks.
 * It writes through better-sqlite3 prepared statements in large IMMEDIATE
 * transactions and extends the hash chain entry by entry from the current head,
 * so `verifyAuditChain` (and `preqstation audit verify`) still pass afterwards: the
 * last entry of each batch is signed with `signer` (the database's own key), which
 * covers the batch through the chain — one signature per batch keeps seeding fast.
 * Each batch re-reads the head inside its own transaction, so it is safe to run
 * while the server is writing too.
 */

export interface SeedAuditOptions {
  count: number;
  /** The key the server will verify with (`loadAuditSigner` on the same configuration). */
  signer: AuditSigner;
  /** Entries per transaction. */
  batchSize?: number;
  /** The time of the newest synthetic entry (default: now). */
  now?: number;
  /** Spacing of the synthetic entries in milliseconds (squeezed when the head is more recent). */
  stepMs?: number;
  /** Called after each committed batch with the number written so far. */
  onProgress?: (written: number) => void;
}

export interface SeedAuditResult {
  firstSeq: number;
  lastSeq: number;
  count: number;
  ms: number;
}

const ACTIONS = [
  ["task.create", "task"],
  ["task.update", "task"],
  ["task.update", "task"],
  ["task.status", "task"],
  ["task.delete", "task"],
  ["project.update", "project"],
] as const;

interface Actor {
  type: AuditActorType;
  id: string;
  label: string;
}

function actorsFor(sqlite: SQLite.Database): Actor[] {
  const owner = sqlite.prepare("select id, email from owners limit 1").get() as { id: string; email: string } | undefined;
  const tokens = sqlite.prepare("select id, name from api_tokens order by id limit 5").all() as { id: number; name: string }[];
  const actors: Actor[] = [
    { type: "owner", id: owner?.id ?? "seed-owner", label: owner?.email ?? "owner@seed.invalid" },
    { type: "cli", id: "cli", label: "cli (seed)" },
  ];
  if (tokens.length) for (const t of tokens) actors.push({ type: "token", id: String(t.id), label: t.name });
  else for (const n of [901, 902, 903]) actors.push({ type: "token", id: String(n), label: `seed-token-${n}` });
  return actors;
}

export function seedAuditLog(sqlite: SQLite.Database, options: SeedAuditOptions): SeedAuditResult {
  const started = performance.now();
  const count = Math.max(0, Math.floor(options.count));
  const batchSize = Math.max(1, options.batchSize ?? 50_000);
  const end = options.now ?? Date.now();
  const actors = actorsFor(sqlite);
  const head = sqlite.prepare("select seq, hash, created_at from audit_log order by seq desc limit 1");
  const insert = sqlite.prepare(
    `insert into audit_log (seq, created_at, actor_type, actor_id, actor_label, action, resource_type, resource_id,
       changes, ip, user_agent, request_id, prev_hash, hash, signature)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );

  const initial = head.get() as Pick<AuditEntry, "seq" | "hash" | "created_at"> | undefined;
  // Entries are spread evenly up to `end`, never before the current head (the log stays in time order).
  const headMs = initial ? Date.parse(initial.created_at) : -Infinity;
  const start = Math.max(headMs, end - count * (options.stepMs ?? 1_000));
  const step = count > 0 ? Math.max(0, (end - start) / count) : 0;
  let firstSeq = 0;
  let lastSeq = initial?.seq ?? 0;

  const writeBatch = sqlite.transaction((from: number, to: number) => {
    const h = head.get() as Pick<AuditEntry, "seq" | "hash" | "created_at"> | undefined;
    let prevHash = h?.hash ?? GENESIS_HASH;
    let seq = h?.seq ?? 0;
    let floorMs = h ? Date.parse(h.created_at) : -Infinity;
    for (let i = from; i < to; i++) {
      seq += 1;
      const [action, resourceType] = ACTIONS[i % ACTIONS.length]!;
      const actor = actors[i % actors.length]!;
      const at = Math.max(floorMs, Math.floor(start + step * (i + 1)));
      floorMs = at;
      const base = {
        seq,
        created_at: new Date(at).toISOString(),
        actor_type: actor.type,
        actor_id: actor.id,
        actor_label: actor.label,
        action,
        resource_type: resourceType,
        resource_id: resourceType === "task" ? `SEED-${(i % 5_000) + 1}` : "SEED",
        changes: JSON.stringify({ title: { before: `Synthetic task ${i}`, after: `Synthetic task ${i + 1}` } }),
        ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        user_agent: "preqstation-seed",
        request_id: randomUUID(),
      };
      const hash = chainHash(prevHash, canonicalEntry(base));
      insert.run(
        base.seq,
        base.created_at,
        base.actor_type,
        base.actor_id,
        base.actor_label,
        base.action,
        base.resource_type,
        base.resource_id,
        base.changes,
        base.ip,
        base.user_agent,
        base.request_id,
        prevHash,
        hash,
        i === to - 1 ? options.signer.sign(base.seq, hash) : null,
      );
      prevHash = hash;
      if (firstSeq === 0) firstSeq = seq;
    }
    lastSeq = seq;
  });

  // A bulk load touches the random-keyed hash indexes all over: a large page cache
  // (for this connection only, restored afterwards) keeps them in memory.
  const cacheSize = sqlite.pragma("cache_size", { simple: true }) as number;
  sqlite.pragma("cache_size = -262144");
  try {
    for (let from = 0; from < count; from += batchSize) {
      writeBatch.immediate(from, Math.min(count, from + batchSize));
      options.onProgress?.(Math.min(count, from + batchSize));
    }
  } finally {
    sqlite.pragma(`cache_size = ${Number(cacheSize)}`);
  }
  return { firstSeq: firstSeq || lastSeq + 1, lastSeq, count, ms: Math.round(performance.now() - started) };
}
