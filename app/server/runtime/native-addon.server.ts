/**
 * The SQLite addon of the single executable: its bytes are embedded, but a native
 * addon can only be loaded from a file. It is written once to a private folder (0700,
 * owned by this user), named by its SHA-256, and read back and hashed before every
 * load: a copy that was tampered with or only half written is replaced, never loaded.
 */
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** A problem with the addon or its folder, worded for the log: one line, no stack. */
export class AddonError extends Error {
  override name = "AddonError";
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Where the addon is unpacked: `$XDG_CACHE_HOME/preqstation`, else `~/.cache/preqstation`,
 * else (no usable home, e.g. a service user) the folder `native/` in the data folder.
 */
export function addonCacheDir(env: Record<string, string | undefined>, databasePath: string): string {
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, "preqstation");
  const home = env.HOME;
  if (home && path.isAbsolute(home) && home !== "/") return path.join(home, ".cache", "preqstation");
  if (databasePath !== ":memory:") return path.join(path.dirname(databasePath), "native");
  return path.join(os.tmpdir(), `preqstation-${process.getuid?.() ?? "user"}`);
}

function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") return "the disk is full";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EROFS") return "the file system is read-only";
  return error instanceof Error ? error.message : String(error);
}

/** Creates `dir` (0700) or checks an existing one: a real folder, owned by this user, private. */
function ensurePrivateDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new AddonError(
      `cannot create the folder ${dir} for the SQLite addon: ${describe(error)} (set XDG_CACHE_HOME to a writable folder)`,
    );
  }
  const stat = fs.lstatSync(dir);
  if (!stat.isDirectory()) throw new AddonError(`${dir} (the folder for the SQLite addon) is not a folder`);
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) {
    throw new AddonError(`${dir} (the folder for the SQLite addon) belongs to another user; remove it or set XDG_CACHE_HOME`);
  }
  if ((stat.mode & 0o077) !== 0) {
    try {
      fs.chmodSync(dir, 0o700);
    } catch (error) {
      throw new AddonError(`cannot make ${dir} (the folder for the SQLite addon) private: ${describe(error)}`);
    }
  }
}

/** Writes `bytes` to `file` atomically: a new temporary file, fsync, rename, fsync of the folder. */
function writeAtomically(file: string, bytes: Uint8Array): void {
  const dir = path.dirname(file);
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  let fd: number | undefined;
  try {
    // "wx": created new, never through an existing file or link.
    fd = fs.openSync(temp, "wx", 0o600);
    let offset = 0;
    while (offset < bytes.length) offset += fs.writeSync(fd, bytes, offset, bytes.length - offset);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(temp, file);
  } catch (error) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw new AddonError(`cannot write the SQLite addon to ${dir}: ${describe(error)}`);
  }
  try {
    const dirFd = fs.openSync(dir, "r");
    try {
      fs.fsyncSync(dirFd);
    } finally {
      fs.closeSync(dirFd);
    }
  } catch {
    // the rename is done; a folder that cannot be fsynced only weakens durability across a power cut
  }
}

export interface UnpackedAddon {
  /** The verified file. */
  file: string;
  /** An open descriptor on it, read and hashed: loading through it loads exactly the bytes checked. */
  fd: number;
  /** "written" the first time (or after replacing a bad copy), "reused" after. */
  state: "written" | "reused" | "replaced";
}

/** Opens `file` (a regular file of this user, not a link) and returns its descriptor if its bytes hash to `expected`. */
function openVerified(file: string, expected: string): number | null {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ELOOP") return null;
    throw new AddonError(`cannot read the SQLite addon ${file}: ${describe(error)}`);
  }
  try {
    const stat = fs.fstatSync(fd);
    const uid = process.getuid?.();
    if (stat.isFile() && (uid === undefined || stat.uid === uid) && sha256(fs.readFileSync(fd)) === expected) return fd;
  } catch {
    // unreadable: treated as a bad copy
  }
  fs.closeSync(fd);
  return null;
}

/**
 * Makes sure `dir` holds a copy of the addon whose SHA-256 is `expected`, and returns it
 * open. `bytes` are the embedded bytes; they must hash to `expected` themselves (a damaged
 * executable is refused here, before anything is written).
 */
export function unpackAddon(dir: string, bytes: Uint8Array, expected: string): UnpackedAddon {
  if (sha256(bytes) !== expected) {
    throw new AddonError(
      "the SQLite addon inside this executable is damaged (its SHA-256 does not match); download or build the executable again",
    );
  }
  ensurePrivateDir(dir);
  const file = path.join(dir, `better_sqlite3-${expected}.node`);
  const existing = openVerified(file, expected);
  if (existing !== null) return { file, fd: existing, state: "reused" };
  let state: UnpackedAddon["state"] = "written";
  try {
    fs.lstatSync(file);
    // Something is there and it is not the addon: remove it (a link is removed, not followed).
    fs.rmSync(file, { force: true, recursive: true });
    state = "replaced";
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new AddonError(`cannot replace the damaged SQLite addon ${file}: ${describe(error)}`);
    }
  }
  writeAtomically(file, bytes);
  const written = openVerified(file, expected);
  if (written === null) throw new AddonError(`the SQLite addon written to ${file} does not read back intact`);
  return { file, fd: written, state };
}

/**
 * Loads the verified addon. On Linux through `/proc/self/fd/N`, the descriptor that was
 * hashed, so a file swapped in between the check and the load is never the one loaded.
 */
export function loadAddon(unpacked: UnpackedAddon): object {
  const viaFd = `/proc/self/fd/${unpacked.fd}`;
  const target = process.platform === "linux" && fs.existsSync(viaFd) ? viaFd : unpacked.file;
  const module = { exports: {} as object };
  try {
    process.dlopen(module, target);
  } catch (error) {
    throw new AddonError(
      `cannot load the SQLite addon ${unpacked.file}: ${error instanceof Error ? error.message : String(error)}`,
    );
  } finally {
    fs.closeSync(unpacked.fd);
  }
  return module.exports;
}
