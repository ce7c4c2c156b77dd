import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main, type CliIo } from "../../bin/cli";
import { auditSignerFromSeed, type AuditSigner } from "../../app/lib/audit/signing.server";
import type { Db } from "~/lib/db.server";
import { rechainAuditLog } from "../support/audit-key";
import {
  TEST_AUDIT_KEY,
  TEST_SESSION_SECRET,
  testAudit,
  testAuditSigner,
  testDir,
  auditInTransaction,
  testDatabase,
} from "../support/kit";

const ctx = testAudit;

function capture() {
  const out = { stdout: "", stderr: "" };
  const io: CliIo = { stdout: (t) => (out.stdout += t), stderr: (t) => (out.stderr += t), readLine: async () => "" };
  return { io, out };
}

/** Edit with the triggers dropped, then renumber and recompute every hash; re-sign only if given a key. */
async function forge(dbPath: string, edit: (db: Db) => Promise<void>, resign?: AuditSigner) {
  const { db, close } = await testDatabase({ path: dbPath });
  await sql`drop trigger if exists audit_log_no_update`.execute(db);
  await sql`drop trigger if exists audit_log_no_delete`.execute(db);
  await edit(db);
  await rechainAuditLog(db, resign);
  await close();
}

describe("preqstation audit verify", () => {
  let dir: string;
  let dbPath: string;
  const env = (extra: Record<string, string> = { AUDIT_SIGNING_KEY: TEST_AUDIT_KEY }): NodeJS.ProcessEnv => ({
    NODE_ENV: "test",
    DATABASE_PATH: dbPath,
    SESSION_SECRET: TEST_SESSION_SECRET,
    ...extra,
  });
  const verify = async (args: string[] = [], e = env()) => {
    const run = capture();
    const code = await main(["audit", "verify", ...args], run.io, e);
    return { code, ...run.out };
  };

  beforeEach(async () => {
    dir = testDir("preq-cli-audit-");
    dbPath = path.join(dir, "db.sqlite");
    const { db, close } = await testDatabase({ path: dbPath, migrate: true });
    for (let i = 0; i < 5; i++)
      await auditInTransaction(db, ctx, { action: "task.update", resourceType: "task", resourceId: String(i), changes: {} });
    await close();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("prints the public key and the head of an intact log, and accepts both later", async () => {
    const first = await verify();
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("Audit log OK: 5 entries, chain and signatures verified up to entry 5.");
    expect(first.stdout).toContain(`Public key: ${testAuditSigner.publicKey}`);
    const head = /^Head: (5:[0-9a-f]{64})$/m.exec(first.stdout)?.[1];
    expect(head).toBeDefined();
    const again = await verify(["--head", head!, "--public-key", testAuditSigner.publicKey]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("The recorded head is still in the log (entry 5).");
  });

  it("catches an entry edited with the triggers dropped and every later hash recomputed, and names it", async () => {
    await forge(dbPath, (db) =>
      db
        .updateTable("audit_log")
        .set({ actor_label: "someone else" })
        .where("seq", "=", 3)
        .execute()
        .then(() => undefined),
    );
    const bad = await verify();
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(
      "Audit log TAMPERED: entry 3 was changed (or replaced) after it was written and the later hashes recomputed",
    );
    expect(bad.stderr).toContain("First bad entry: 3");
  });

  it("catches an entry deleted with the rest renumbered and re-chained", async () => {
    await forge(dbPath, (db) =>
      db
        .deleteFrom("audit_log")
        .where("seq", "=", 2)
        .execute()
        .then(() => undefined),
    );
    const bad = await verify();
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/TAMPERED: entry 2 was changed/);
  });

  it("with --public-key, a wrong key fails and a log re-signed with a swapped key file is caught", async () => {
    const other = auditSignerFromSeed(randomBytes(32));
    const wrong = await verify(["--public-key", other.publicKey]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`no signature verifies with public key ${other.publicKey}`);
    const malformed = await verify(["--public-key", "not-a-key"]);
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toContain("--public-key: not an Ed25519 public key");

    // A forger rewrites entry 2, re-signs everything with a key of their own and puts it where the key lives.
    const forgerSeed = randomBytes(32);
    await forge(
      dbPath,
      (db) =>
        db
          .updateTable("audit_log")
          .set({ resource_id: "forged" })
          .where("seq", "=", 2)
          .execute()
          .then(() => undefined),
      auditSignerFromSeed(forgerSeed),
    );
    const forgerEnv = env({ AUDIT_SIGNING_KEY: forgerSeed.toString("base64url") });
    expect((await verify([], forgerEnv)).code).toBe(0); // the swapped key agrees with itself…
    const anchored = await verify(["--public-key", testAuditSigner.publicKey], forgerEnv); // …not with the key kept elsewhere
    expect(anchored.code).toBe(1);
    expect(anchored.stderr).toContain("TAMPERED: no signature verifies with public key");
  });

  it("--head says whether entries were cut off the end or an entry was changed", async () => {
    const head = /^Head: (\S+)$/m.exec((await verify()).stdout)![1]!;

    await forge(dbPath, (db) =>
      db
        .deleteFrom("audit_log")
        .where("seq", ">", 3)
        .execute()
        .then(() => undefined),
    );
    expect((await verify()).code).toBe(0); // what is left is a valid, signed log…
    const cut = await verify(["--head", head]);
    expect(cut.code).toBe(1); // …but not the one recorded
    expect(cut.stderr).toContain(
      "Audit log TAMPERED: entries were cut off the end: the recorded head is entry 5, but the log now ends at entry 3",
    );

    // Someone holding the real key rewrites entry 1 and re-signs: only the recorded head catches it.
    const { db, close } = await testDatabase({ path: dbPath });
    for (let i = 0; i < 2; i++)
      await auditInTransaction(db, ctx, { action: "task.update", resourceType: "task", resourceId: `n${i}`, changes: {} });
    await close();
    await forge(
      dbPath,
      (db2) =>
        db2
          .updateTable("audit_log")
          .set({ resource_id: "forged" })
          .where("seq", "=", 1)
          .execute()
          .then(() => undefined),
      testAuditSigner,
    );
    expect((await verify()).code).toBe(0);
    const changed = await verify(["--head", head]);
    expect(changed.code).toBe(1);
    expect(changed.stderr).toContain("Audit log TAMPERED: entry 5 is not the one recorded: it or an earlier entry was changed");

    const bare = await verify(["--head", head.split(":")[1]!]);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toContain("an entry was changed or entries were cut off the end");
    expect((await verify(["--head", "nonsense"])).stderr).toContain("--head: expected <seq>:<64 hex digits>");
  });

  it("the key file is created 0600 beside the database on first use, and verify then reads it (never creating one)", async () => {
    const fresh = testDir("preq-cli-key-");
    try {
      dbPath = path.join(fresh, "db.sqlite");
      const noKey = env({});
      const missing = await verify([], noKey);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain("no audit signing key");
      expect(fs.existsSync(path.join(fresh, "audit-key"))).toBe(false);

      expect(await main(["migrate"], capture().io, noKey)).toBe(0);
      const keyFile = path.join(fresh, "audit-key");
      expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
      expect(fs.readFileSync(keyFile, "utf8").trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const ok = await verify([], noKey);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain("Audit log OK: no entries yet.");

      fs.writeFileSync(keyFile, "short\n");
      const broken = await verify([], noKey);
      expect(broken.code).toBe(1);
      expect(broken.stderr).toContain(`the audit signing key in ${keyFile} must be 32 random bytes`);
    } finally {
      fs.rmSync(fresh, { recursive: true, force: true });
    }
  });

  it("refuses an AUDIT_SIGNING_KEY that is not a 32-byte key, naming the variable", async () => {
    for (const bad of ["abc", "A".repeat(43), "00".repeat(32)]) {
      const run = capture();
      expect(await main(["audit", "verify"], run.io, env({ AUDIT_SIGNING_KEY: bad }))).toBe(1);
      expect(run.out.stderr).toContain("AUDIT_SIGNING_KEY");
    }
  });
});
