/**
 * Fills an audit log with N synthetic, correctly chained entries (tests and benchmarks).
 * Usage: npx tsx scripts/seed-audit.ts --db <path> --count N [--batch-size B]
 * The database is created and migrated if needed; an existing chain is continued.
 */
import { parseArgs } from "node:util";
import { seedAuditLog } from "../bench/lib/audit-seed";
import { auditKeyFileFor, loadAuditSigner } from "../app/lib/audit/signing.server";
import { migrate, openDatabase } from "../app/lib/db.server";

const USAGE = "usage: npx tsx scripts/seed-audit.ts --db <path> --count N [--batch-size B]";

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: { db: { type: "string" }, count: { type: "string" }, "batch-size": { type: "string" } },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const count = Number(values.count);
  const batchSize = values["batch-size"] === undefined ? undefined : Number(values["batch-size"]);
  if (
    !values.db ||
    !Number.isSafeInteger(count) ||
    count < 1 ||
    (batchSize !== undefined && !(Number.isSafeInteger(batchSize) && batchSize > 0))
  ) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const { db, sqlite } = openDatabase(values.db);
  try {
    await migrate(db);
    const tty = process.stderr.isTTY;
    // Signed with the key the server and CLI find beside the database (AUDIT_SIGNING_KEY is not read here).
    const signer = loadAuditSigner({ auditSigningKey: null, auditKeyFile: auditKeyFileFor(values.db) }, { create: true })!;
    const result = seedAuditLog(sqlite, {
      count,
      signer,
      batchSize,
      onProgress: (n) => {
        if (tty) process.stderr.write(`\r${n} / ${count}`);
      },
    });
    if (tty) process.stderr.write("\n");
    process.stdout.write(
      `Seeded ${result.count} audit entries (seq ${result.firstSeq}–${result.lastSeq}) in ${(result.ms / 1000).toFixed(1)} s\n`,
    );
    return 0;
  } finally {
    await db.destroy();
  }
}

process.exitCode = await main();
