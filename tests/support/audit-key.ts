import { canonicalEntry, chainHash, GENESIS_HASH } from "../../app/lib/audit/log.server";
import { auditSignerFromSeed, type AuditSigner } from "../../app/lib/audit/signing.server";
import type { Db } from "../../app/lib/db.server";

/**
 * A fixed audit signing key for tests that write audit entries without a server
 * (`AUDIT_SIGNING_KEY` in a CLI or server environment makes them share it).
 */
export const TEST_AUDIT_KEY = "dGVzdC1hdWRpdC1zaWduaW5nLWtleS0zMi1ieXRlcyE";
export const testAuditSigner = auditSignerFromSeed(Buffer.from(TEST_AUDIT_KEY, "base64url"));

/**
 * What a forger with write access to the file does after editing or deleting rows (triggers
 * dropped): renumber what is left and recompute every hash from the genesis, so the chain is
 * internally consistent again. Signatures are kept as they were (the forger has no key)
 * unless `resign` is given (the forger also has a key: the real one, or their own).
 */
export async function rechainAuditLog(db: Db, resign?: AuditSigner): Promise<void> {
  const rows = await db.selectFrom("audit_log").selectAll().orderBy("seq").execute();
  await db.deleteFrom("audit_log").execute();
  let prev = GENESIS_HASH;
  for (const [i, row] of rows.entries()) {
    const base = { ...row, seq: i + 1 };
    const { hash: _h, prev_hash: _p, signature, ...rest } = base;
    const hash = chainHash(prev, canonicalEntry(rest));
    await db
      .insertInto("audit_log")
      .values({ ...base, prev_hash: prev, hash, signature: resign ? resign.sign(base.seq, hash) : signature })
      .execute();
    prev = hash;
  }
}
