/**
 * The admin CLI (`npx preqstation …`, contract §4) as a process, against real
 * databases, including while the production server is serving the same file.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { getPage, OWNER_EMAIL, OWNER_PASSWORD, postForm, setupOwner, signIn } from "../support/http";
import { ROOT, runCli, startServer, tempDir, testEnv } from "../support/server";

const dbIn = (dir = tempDir()) => path.join(dir, "preqstation.db");

describe("npx preqstation", () => {
  it("resolves to this package's own bin from the repository root", async () => {
    const child = spawn("npx", ["--no-install", "preqstation", "--help"], {
      cwd: ROOT,
      env: testEnv(dbIn()),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    const code = await new Promise((r) => child.once("exit", r));
    expect(code).toBe(0);
    expect(out).toContain("Usage: preqstation <command>");
    expect(out).toContain("owner create --email E");
  });

  it("fails with a clear message and non-zero code on an unknown command or bad configuration", async () => {
    const unknown = await runCli(["frobnicate"], { dbPath: dbIn() });
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    const badEnv = await runCli(["migrate"], { dbPath: dbIn(), env: { SESSION_SECRET: "short" } });
    expect(badEnv.code).toBe(1);
    expect(badEnv.stderr).toContain("SESSION_SECRET");
  });
});

describe("migrate", () => {
  it("applies every migration once, then has nothing to do", async () => {
    const dbPath = dbIn();
    const first = await runCli(["migrate"], { dbPath });
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/Applied \d+ migration\(s\):\n {2}2026_11_27_2300_foundation/);
    const second = await runCli(["migrate"], { dbPath });
    expect(second.code).toBe(0);
    expect(second.stdout).toBe("Database is up to date.\n");
  });
});

describe("owner create", () => {
  it("creates the owner from a password on standard input, who can then sign in", async () => {
    const dir = tempDir();
    const created = await runCli(["owner", "create", "--email", "Admin@Example.com"], {
      dbPath: dbIn(dir),
      input: `${OWNER_PASSWORD}\n`,
    });
    expect(created.code).toBe(0);
    expect(created.stdout).toContain("admin@example.com");
    expect(created.stdout + created.stderr).not.toContain(OWNER_PASSWORD);

    const server = await startServer({ dir });
    try {
      expect(server.setupCode).toBeNull();
      expect((await getPage(server, "/setup")).status).toBe(404);
      await signIn(server, "admin@example.com", OWNER_PASSWORD);
    } finally {
      await server.stop();
    }
  });

  it("fails when an owner exists, and the first owner is unchanged", async () => {
    const dbPath = dbIn();
    expect((await runCli(["owner", "create", "--email", "a@example.com"], { dbPath, input: `${OWNER_PASSWORD}\n` })).code).toBe(
      0,
    );
    const second = await runCli(["owner", "create", "--email", "b@example.com"], { dbPath, input: `${OWNER_PASSWORD}\n` });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain("an owner already exists");
    // it says so before asking for a password
    const noInput = await runCli(["owner", "create", "--email", "b@example.com"], { dbPath, input: "" });
    expect(noInput.stderr).toContain("an owner already exists");
    const db = new Database(dbPath, { readonly: true });
    expect(db.prepare("select email from owners").all()).toEqual([{ email: "a@example.com" }]);
    db.close();
  });

  it("refuses a weak password, a missing email or no input, creating nothing", async () => {
    const dbPath = dbIn();
    const weak = await runCli(["owner", "create", "--email", "a@example.com"], { dbPath, input: "short\n" });
    expect(weak.code).toBe(1);
    expect(weak.stderr).toContain("at least 12 characters");
    const noEmail = await runCli(["owner", "create"], { dbPath, input: `${OWNER_PASSWORD}\n` });
    expect(noEmail.code).toBe(1);
    expect(noEmail.stderr).toContain("--email");
    const noInput = await runCli(["owner", "create", "--email", "a@example.com"], { dbPath, input: "" });
    expect(noInput.code).toBe(1);
    expect(noInput.stderr).toContain("no password on standard input");
    const db = new Database(dbPath, { readonly: true });
    expect(db.prepare("select count(*) as n from owners").get()).toEqual({ n: 0 });
    db.close();
  });
});

describe("with the server running on the same database", () => {
  it("owner reset-password sets the new password and ends every session at once", async () => {
    const server = await startServer();
    try {
      const first = await setupOwner(server);
      const second = await signIn(server);
      const newPassword = "a brand new passphrase 42";
      const reset = await runCli(["owner", "reset-password", "--email", OWNER_EMAIL], {
        dbPath: server.dbPath,
        input: `${newPassword}\n`,
      });
      expect(reset.code).toBe(0);
      expect(reset.stdout).toContain("2 session(s) ended");
      for (const cookie of [first, second]) {
        expect((await getPage(server, "/settings", cookie)).headers.get("location")).toBe("/login?redirectTo=%2Fsettings");
      }
      expect((await postForm(server, "/login", { email: OWNER_EMAIL, password: OWNER_PASSWORD })).status).toBe(401);
      await signIn(server, OWNER_EMAIL, newPassword);
      // The reset is in the audit log, attributed to the CLI, without the password or its hash.
      const db = new Database(server.dbPath, { readonly: true });
      const entry = db.prepare("select * from audit_log where action = 'owner.password_reset'").get() as
        Record<string, string> | undefined;
      db.close();
      expect(entry?.actor_type).toBe("cli");
      expect(entry?.changes).not.toContain(newPassword);
      expect(entry?.changes).not.toContain("scrypt$");
      const unknown = await runCli(["owner", "reset-password", "--email", "nobody@example.com"], {
        dbPath: server.dbPath,
        input: `${newPassword}\n`,
      });
      expect(unknown.code).toBe(1);
    } finally {
      await server.stop();
    }
  });

  it("backup writes a consistent, private copy while the server keeps writing, and never overwrites", async () => {
    const server = await startServer();
    try {
      await setupOwner(server);
      // keep the server writing (sessions, security events) while the backup runs
      let writing = true;
      const writer = (async () => {
        let n = 0;
        while (writing) {
          await postForm(server, "/login", { email: OWNER_EMAIL, password: n++ % 2 ? OWNER_PASSWORD : "wrong password here" });
        }
        return n;
      })();
      const target = path.join(tempDir(), "backups", "copy.db");
      const result = await runCli(["backup", target], { dbPath: server.dbPath });
      writing = false;
      expect(await writer).toBeGreaterThan(0);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(target);
      expect(fs.statSync(target).mode & 0o777).toBe(0o600);

      const copy = new Database(target, { readonly: true });
      expect(copy.pragma("integrity_check", { simple: true })).toBe("ok");
      expect(copy.prepare("select email from owners").all()).toEqual([{ email: OWNER_EMAIL }]);
      expect((copy.prepare("select count(*) as n from kysely_migration").get() as { n: number }).n).toBeGreaterThan(0);
      copy.close();

      const before = fs.readFileSync(target);
      const again = await runCli(["backup", target], { dbPath: server.dbPath });
      expect(again.code).toBe(1);
      expect(again.stderr).toContain("already exists");
      expect(fs.readFileSync(target).equals(before)).toBe(true);
    } finally {
      await server.stop();
    }
  });
});

describe("audit verify", () => {
  it("passes an intact chain and names the first entry changed behind its back", async () => {
    const dbPath = dbIn();
    await runCli(["owner", "create", "--email", OWNER_EMAIL], { dbPath, input: `${OWNER_PASSWORD}\n` });
    for (const name of ["one", "two", "three"]) {
      expect((await runCli(["token", "create", "--name", name], { dbPath })).code).toBe(0);
    }
    const ok = await runCli(["audit", "verify"], { dbPath });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/Audit log OK: [1-9]\d* entries/);

    const db = new Database(dbPath);
    db.exec("drop trigger audit_log_no_update");
    db.prepare("update audit_log set actor_label = 'someone else' where seq = 2").run();
    db.close();
    const bad = await runCli(["audit", "verify"], { dbPath });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("First bad entry: 2");
  });
});
