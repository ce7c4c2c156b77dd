import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/**
 * 32-byte secret keys that live outside the database: the audit signing seed
 * (`audit-key`) and the second-factor data key (`data-key`). Both are given in an
 * environment variable or kept in a file next to the database, created 0600 with an
 * exclusive create on first start. Key text is base64url; base64 and 64 hex digits
 * are accepted too.
 */

/** The 32 bytes written as base64url, base64 or 64 hex digits, or null when the text is anything else. */
export function decodeKeyBytes(text: string): Buffer | null {
  const t = text.trim();
  if (/^[0-9a-f]{64}$/i.test(t)) return Buffer.from(t, "hex");
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) return null;
  const bytes = Buffer.from(t.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""), "base64url");
  return bytes.length === 32 ? bytes : null;
}

/**
 * A 32-byte key from its text, or an error message. One repeated byte is refused: it
 * is a placeholder, not a key.
 */
export function decodeKey(text: string): { ok: true; key: Buffer } | { ok: false; message: string } {
  const key = decodeKeyBytes(text);
  if (!key) return { ok: false, message: "must be 32 random bytes as base64url (or base64, or 64 hex digits)" };
  if (key.every((b) => b === key[0])) return { ok: false, message: "is one repeated byte, not a random key" };
  return { ok: true, key };
}

/** The key file the server uses for a database at `databasePath` (without AUDIT_SIGNING_KEY): `<db folder>/audit-key`. */
export function auditKeyFileFor(databasePath: string): string {
  return path.join(path.dirname(path.resolve(databasePath)), "audit-key");
}

/**
 * The text of a key file. With `create`, a missing file is first created holding 32
 * random bytes as base64url, with an exclusive 0600 create (two processes starting
 * at once both end up reading the one that won). Without `create`, a missing file
 * gives null: a reader must not mint a key of its own. A file readable by others is
 * narrowed to 0600.
 */
export function readKeyFile(file: string, options: { create: boolean }): string | null {
  if (options.create) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    try {
      fs.writeFileSync(file, `${randomBytes(32).toString("base64url")}\n`, { flag: "wx", mode: 0o600 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
  try {
    const stat = fs.statSync(file);
    if ((stat.mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
    return fs.readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" && !options.create) return null;
    throw error;
  }
}
