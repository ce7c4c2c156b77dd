import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import SQLite from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { main, type CliIo } from "../../bin/cli";
import { TEST_AUDIT_KEY } from "../support/audit-key";

function capture() {
  const out = { stdout: "", stderr: "" };
  const io: CliIo = { stdout: (t) => (out.stdout += t), stderr: (t) => (out.stderr += t), readLine: async () => "" };
  return { io, out };
}

describe("preqstation backup", () => {
  let dir: string;
  let target: string;
  const env = (): NodeJS.ProcessEnv => ({
    NODE_ENV: "test",
    DATABASE_PATH: path.join(dir, "db", "preq.db"),
    SESSION_SECRET: "unit-test-session-secret-0123456789abcdef",
    AUDIT_SIGNING_KEY: TEST_AUDIT_KEY,
  });
  const backup = async (file = target) => {
    const run = capture();
    const code = await main(["backup", file], run.io, env());
    return { code, ...run.out };
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "preq-backup-"));
    target = path.join(dir, "out", "copy.db");
  });
  afterEach(() => {
    vi.restoreAllMocks();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("SQLite writes into a fresh private folder, never the target path, which appears only once complete", async () => {
    const seen: { destination: string; folderMode: number; targetExisted: boolean }[] = [];
    const original = SQLite.prototype.backup;
    vi.spyOn(SQLite.prototype, "backup").mockImplementation(function (
      this: SQLite.Database,
      destination: string,
      options?: SQLite.BackupOptions,
    ) {
      seen.push({
        destination,
        folderMode: fs.statSync(path.dirname(destination)).mode & 0o777,
        targetExisted: fs.existsSync(target),
      });
      return original.call(this, destination, options);
    });
    const result = await backup();
    expect(result.code).toBe(0);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.destination).not.toBe(target);
    expect(path.dirname(path.dirname(seen[0]!.destination))).toBe(path.dirname(target)); // beside the target: one rename away
    expect(seen[0]!.folderMode).toBe(0o700);
    expect(seen[0]!.targetExisted).toBe(false);
    // Complete, private, and nothing left behind in the target folder.
    expect(fs.readdirSync(path.dirname(target))).toEqual(["copy.db"]);
    expect(fs.statSync(target).mode & 0o777).toBe(0o600);
    const copy = new SQLite(target, { readonly: true });
    expect(copy.pragma("integrity_check", { simple: true })).toBe("ok");
    copy.close();
  });

  it("a symlink at the target, dangling or not, is refused and never followed", async () => {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const victim = path.join(dir, "victim.txt");
    fs.writeFileSync(victim, "keep me");
    fs.symlinkSync(victim, target);
    const onFile = await backup();
    expect(onFile.code).toBe(1);
    expect(onFile.stderr).toContain("already exists");
    expect(fs.readFileSync(victim, "utf8")).toBe("keep me");

    const dangling = path.join(path.dirname(target), "dangling.db");
    const nowhere = path.join(dir, "nowhere.db");
    fs.symlinkSync(nowhere, dangling);
    const onDangling = await backup(dangling);
    expect(onDangling.code).toBe(1);
    expect(fs.existsSync(nowhere)).toBe(false);
    expect(fs.readdirSync(path.dirname(target)).sort()).toEqual(["copy.db", "dangling.db"]); // no temp folder left
  });

  it("a target that appears while the copy is written is not overwritten, and nothing is left behind", async () => {
    const original = SQLite.prototype.backup;
    vi.spyOn(SQLite.prototype, "backup").mockImplementation(function (
      this: SQLite.Database,
      destination: string,
      options?: SQLite.BackupOptions,
    ) {
      fs.writeFileSync(target, "someone else's file");
      return original.call(this, destination, options);
    });
    const result = await backup();
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("already exists");
    expect(fs.readFileSync(target, "utf8")).toBe("someone else's file");
    expect(fs.readdirSync(path.dirname(target))).toEqual(["copy.db"]);
  });
});
