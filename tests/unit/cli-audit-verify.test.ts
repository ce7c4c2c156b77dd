import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main, type CliIo } from "../../bin/cli";
import { appendAudit, type AuditContext } from "~/lib/audit.server";
import { migrate, openDatabase } from "~/lib/db.server";

const ctx: AuditContext = { actor: { type: "cli", id: "cli", label: "test" }, ip: "local", userAgent: "vitest", requestId: "r" };

function capture() {
  const out = { stdout: "", stderr: "" };
  const io: CliIo = { stdout: (t) => (out.stdout += t), stderr: (t) => (out.stderr += t), readLine: async () => "" };
  return { io, out };
}

describe("preqstation audit verify", () => {
  let dir: string;
  let dbPath: string;
  const env = (): NodeJS.ProcessEnv => ({ NODE_ENV: "test", DATABASE_PATH: dbPath, SESSION_SECRET: "unit-test-session-secret-0123456789abcdef" });

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "preq-cli-audit-"));
    dbPath = path.join(dir, "db.sqlite");
    const { db } = openDatabase(dbPath);
    await migrate(db);
    for (let i = 0; i < 5; i++) await appendAudit(db, ctx, { action: "test.write", resourceType: "test", resourceId: String(i), changes: {} });
    await db.destroy();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("prints the head hash of an intact chain, and accepts that head later", async () => {
    const first = capture();
    expect(await main(["audit", "verify"], first.io, env())).toBe(0);
    const head = /^Head: ([0-9a-f]{64})$/m.exec(first.out.stdout)?.[1];
    expect(head).toBeDefined();
    const again = capture();
    expect(await main(["audit", "verify", "--head", head!], again.io, env())).toBe(0);
    expect(again.out.stdout).toContain("chain verified up to entry 5");
  });

  it("catches entries cut off the end of the chain when given the head recorded before", async () => {
    const first = capture();
    await main(["audit", "verify"], first.io, env());
    const head = /^Head: ([0-9a-f]{64})$/m.exec(first.out.stdout)![1]!;

    // Someone with the database file removes the triggers and the newest entries.
    const { db } = openDatabase(dbPath);
    await sql`drop trigger audit_log_no_delete`.execute(db);
    await sql`delete from audit_log where seq > 3`.execute(db);
    await db.destroy();

    const plain = capture();
    expect(await main(["audit", "verify"], plain.io, env())).toBe(0); // what is left is a valid chain…
    const anchored = capture();
    expect(await main(["audit", "verify", "--head", head], anchored.io, env())).toBe(1); // …but not the one recorded
    expect(anchored.out.stderr).toMatch(/no longer in the chain/);
  });
});
