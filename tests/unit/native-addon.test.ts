import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import SQLite from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { AddonError, addonCacheDir, loadAddon, sha256, unpackAddon } from "~/server/runtime/native-addon.server";
import { tryMountTmpfs } from "../support/resilience";
import { sqliteAddonPath } from "../../scripts/sqlite-addon.mjs";

// The real addon better-sqlite3 loads, as the executable embeds it.
const ADDON = fs.readFileSync(sqliteAddonPath());
const HASH = sha256(ADDON);
const dirs: string[] = [];
const temp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "preqstation-addon-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const closeFd = (u: { fd: number }) => fs.closeSync(u.fd);

describe("addonCacheDir", () => {
  it("prefers XDG_CACHE_HOME, then ~/.cache, then the data folder", () => {
    expect(addonCacheDir({ XDG_CACHE_HOME: "/x", HOME: "/h" }, "/d/db")).toBe("/x/preqstation");
    expect(addonCacheDir({ XDG_CACHE_HOME: "relative", HOME: "/h" }, "/d/db")).toBe("/h/.cache/preqstation");
    expect(addonCacheDir({ HOME: "/" }, "/srv/data/preqstation.db")).toBe("/srv/data/native");
    expect(addonCacheDir({}, "/srv/data/preqstation.db")).toBe("/srv/data/native");
  });
});

describe("unpackAddon", () => {
  it("writes the addon once into a 0700 folder, named by its SHA-256, 0600, and reuses it after", () => {
    const dir = path.join(temp(), "cache", "preqstation");
    const first = unpackAddon(dir, ADDON, HASH);
    closeFd(first);
    expect(first.state).toBe("written");
    expect(path.basename(first.file)).toBe(`better_sqlite3-${HASH}.node`);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(first.file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual([path.basename(first.file)]); // no temporary file left behind
    const mtime = fs.statSync(first.file).mtimeMs;
    const second = unpackAddon(dir, ADDON, HASH);
    closeFd(second);
    expect(second.state).toBe("reused");
    expect(fs.statSync(second.file).mtimeMs).toBe(mtime);
  });

  it("replaces a tampered copy instead of loading it, and the replacement loads and works", () => {
    const dir = temp();
    closeFd(unpackAddon(dir, ADDON, HASH));
    const file = path.join(dir, `better_sqlite3-${HASH}.node`);
    const tampered = Buffer.from(ADDON);
    tampered[tampered.length >> 1] = tampered[tampered.length >> 1]! ^ 0xff;
    fs.writeFileSync(file, tampered);
    const again = unpackAddon(dir, ADDON, HASH);
    expect(again.state).toBe("replaced");
    expect(sha256(fs.readFileSync(file))).toBe(HASH);
    const addon = loadAddon(again);
    const db = new SQLite(":memory:", { nativeBinding: addon as unknown as string });
    expect(db.prepare("select 41 + 1 as n").get()).toEqual({ n: 42 });
    db.close();
  });

  it("replaces a half-written copy and a symlink planted at its name (never following it)", () => {
    const dir = temp();
    const file = path.join(dir, `better_sqlite3-${HASH}.node`);
    fs.chmodSync(dir, 0o700);
    fs.writeFileSync(file, ADDON.subarray(0, 1000));
    const fromHalf = unpackAddon(dir, ADDON, HASH);
    closeFd(fromHalf);
    expect(fromHalf.state).toBe("replaced");

    const elsewhere = path.join(temp(), "victim");
    fs.writeFileSync(elsewhere, "not an addon");
    fs.rmSync(file);
    fs.symlinkSync(elsewhere, file);
    const fromLink = unpackAddon(dir, ADDON, HASH);
    closeFd(fromLink);
    expect(fromLink.state).toBe("replaced");
    expect(fs.lstatSync(file).isFile()).toBe(true);
    expect(fs.readFileSync(elsewhere, "utf8")).toBe("not an addon");
  });

  it("makes an existing folder private and refuses one owned by another user", () => {
    const dir = temp();
    fs.chmodSync(dir, 0o755);
    closeFd(unpackAddon(dir, ADDON, HASH));
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    if (process.getuid?.() === 0) {
      const foreign = temp();
      fs.chownSync(foreign, 65534, 65534);
      expect(() => unpackAddon(foreign, ADDON, HASH)).toThrow(/belongs to another user/);
    }
  });

  it("refuses embedded bytes that do not match the embedded hash, before writing anything", () => {
    const dir = path.join(temp(), "never");
    const damaged = Buffer.from(ADDON);
    damaged[100] = damaged[100]! ^ 1;
    expect(() => unpackAddon(dir, damaged, HASH)).toThrow(/damaged/);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it("an unwritable cache folder is one AddonError naming the folder", () => {
    const blocker = path.join(temp(), "a-file");
    fs.writeFileSync(blocker, "");
    const dir = path.join(blocker, "preqstation");
    expect(() => unpackAddon(dir, ADDON, HASH)).toThrow(AddonError);
    expect(() => unpackAddon(dir, ADDON, HASH)).toThrow(`cannot create the folder ${dir} for the SQLite addon`);
  });

  it.skipIf(process.getuid?.() !== 0)("a full disk while writing: one AddonError, no partial file left", () => {
    const disk = tryMountTmpfs(1); // 1 MiB: smaller than the ~2 MiB addon
    if (!disk) throw new Error("could not mount a tmpfs although running as root");
    try {
      const dir = path.join(disk.dir, "preqstation");
      expect(() => unpackAddon(dir, ADDON, HASH)).toThrow(`cannot write the SQLite addon to ${dir}: the disk is full`);
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      disk.unmount();
    }
  });
});
