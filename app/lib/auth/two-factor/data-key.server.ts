import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from "node:crypto";
import { decodeKey, readKeyFile } from "../../key-file.server";

/**
 * The data key: 32 bytes from `DATA_KEY`, or generated into `<db folder>/data-key`
 * (0600) on first start. It never lives in the database and is independent of
 * SESSION_SECRET, so rotating the cookie secret leaves second factors alone, and a
 * copy of the database alone reveals no TOTP secret and allows no offline guessing
 * of recovery codes.
 *
 * Two keys are derived from it (HKDF-SHA256, one label each), so no byte string is
 * ever both an AES key and an HMAC key:
 * - AES-256-GCM for secrets at rest (`seal` / `open`);
 * - HMAC-SHA256 for values stored only as a keyed hash (`mac`: recovery codes).
 */
export interface DataKey {
  /**
   * Encrypts `plaintext` for one purpose and owner. The result is text:
   * `v1.` + base64url(96-bit random nonce ‖ ciphertext ‖ 128-bit tag). The purpose and
   * owner id are authenticated (associated data), so a ciphertext copied to another
   * row, owner or purpose does not open.
   */
  seal(purpose: SealPurpose, ownerId: string, plaintext: Uint8Array): string;
  /** Decrypts what `seal` made for the same purpose and owner; anything else throws SealedDataError. */
  open(purpose: SealPurpose, ownerId: string, sealed: string): Buffer;
  /** HMAC-SHA256 under the derived hashing key, of `label` and `value` (never the same bytes for two labels). */
  mac(label: string, value: string): Buffer;
}

/** What a sealed value is for: part of its associated data. */
export type SealPurpose = "totp-secret" | "totp-enrolment";

export const SEAL_VERSION = "v1";
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** The sealed value does not open: tampered, truncated, of another purpose/owner, or under another key. */
export class SealedDataError extends Error {
  override name = "SealedDataError";
  constructor() {
    super("sealed data does not open with this key, purpose and owner");
  }
}

/** Whether `error` is a SealedDataError (the stored secret does not open with this DATA_KEY). */
export function isSealedDataError(error: unknown): error is SealedDataError {
  return error instanceof SealedDataError;
}

/** The data key file (or DATA_KEY) is unusable. */
export class DataKeyError extends Error {
  override name = "DataKeyError";
}

function associatedData(purpose: SealPurpose, ownerId: string): Buffer {
  return Buffer.from(JSON.stringify(["preqstation sealed", SEAL_VERSION, purpose, ownerId]), "utf8");
}

function derive(key: Buffer, label: string): Buffer {
  return Buffer.from(hkdfSync("sha256", key, Buffer.alloc(0), `preqstation/data-key/${label}`, 32));
}

export function dataKeyFromBytes(key: Buffer): DataKey {
  if (key.length !== 32) throw new DataKeyError("a data key is 32 bytes");
  const encryptionKey = derive(key, "aes-256-gcm/v1");
  const macKey = derive(key, "hmac-sha256/v1");
  return {
    seal(purpose, ownerId, plaintext) {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv("aes-256-gcm", encryptionKey, nonce, { authTagLength: TAG_BYTES });
      cipher.setAAD(associatedData(purpose, ownerId));
      const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return `${SEAL_VERSION}.${Buffer.concat([nonce, body, cipher.getAuthTag()]).toString("base64url")}`;
    },
    open(purpose, ownerId, sealed) {
      const dot = sealed.indexOf(".");
      if (dot === -1 || sealed.slice(0, dot) !== SEAL_VERSION) throw new SealedDataError();
      const text = sealed.slice(dot + 1);
      if (!/^[A-Za-z0-9_-]+$/.test(text)) throw new SealedDataError();
      const bytes = Buffer.from(text, "base64url");
      if (bytes.length < NONCE_BYTES + TAG_BYTES) throw new SealedDataError();
      try {
        const decipher = createDecipheriv("aes-256-gcm", encryptionKey, bytes.subarray(0, NONCE_BYTES), {
          authTagLength: TAG_BYTES,
        });
        decipher.setAAD(associatedData(purpose, ownerId));
        decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
        return Buffer.concat([decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
      } catch {
        throw new SealedDataError();
      }
    },
    mac(label, value) {
      return createHmac("sha256", macKey).update(label).update("\n").update(value, "utf8").digest();
    },
  };
}

/** Where the key comes from (filled in by the configuration). */
export interface DataKeySource {
  /** The key from `DATA_KEY`, when set. */
  dataKey: Buffer | null;
  /** `<db folder>/data-key`, or null for an in-memory database. */
  dataKeyFile: string | null;
}

/**
 * The data key: from `DATA_KEY`, else read from (or, with `create`, generated into)
 * the key file. An in-memory database gets a key that lives as long as the process,
 * like the database. Without `create`, a missing file gives null.
 */
export function loadDataKey(source: DataKeySource, options: { create: boolean }): DataKey | null {
  if (source.dataKey) return dataKeyFromBytes(source.dataKey);
  const file = source.dataKeyFile;
  if (!file) return options.create ? dataKeyFromBytes(randomBytes(32)) : null;
  const text = readKeyFile(file, options);
  if (text === null) return null;
  const decoded = decodeKey(text);
  if (!decoded.ok) throw new DataKeyError(`the data key in ${file} ${decoded.message}`);
  return dataKeyFromBytes(decoded.key);
}
