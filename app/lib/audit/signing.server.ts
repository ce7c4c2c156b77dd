import { createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from "node:crypto";
import { decodeKey, decodeKeyBytes, readKeyFile } from "../key-file.server";

// Where the key file lives is the configuration's (env.server.ts) as much as the signer's: defined with the key files.
export { auditKeyFileFor } from "../key-file.server";

/**
 * The audit log's signing key. The hash chain alone proves nothing against someone
 * who can write the database file: they can edit an entry and recompute every later
 * hash. Each entry's hash is therefore also signed (Ed25519) with a key that never
 * lives in the database: `<db folder>/audit-key` (0600, created on first start) or
 * `AUDIT_SIGNING_KEY`. A signature on entry N covers entries 1..N, because N's hash
 * chains all of them.
 *
 * Key text: the 32-byte Ed25519 private seed as base64url (base64 and 64 hex digits
 * are accepted too). Public key text: the 32-byte raw public key as base64url.
 */

/** What a signature covers: the entry's position and hash, under a fixed label. */
function message(seq: number, hash: string): Buffer {
  return Buffer.from(`preqstation audit-log v1\n${seq}\n${hash}`, "utf8");
}

// DER prefixes that wrap a raw 32-byte Ed25519 key as PKCS#8 (private) and SPKI (public).
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** Checks a signature over (seq, hash). */
export interface AuditVerifier {
  /** The raw public key, base64url: the text to keep somewhere else. */
  readonly publicKey: string;
  verify(seq: number, hash: string, signature: string): boolean;
}

/** Signs audit entries. Holds the private key; never serialised, never logged. */
export interface AuditSigner extends AuditVerifier {
  /** The signature of (seq, hash), base64url. */
  sign(seq: number, hash: string): string;
}

/**
 * The 32-byte seed from key text, or an error message. A seed of one repeated byte
 * is refused: it is a placeholder, not a key.
 */
export function decodeAuditKey(text: string): { ok: true; seed: Buffer } | { ok: false; message: string } {
  const decoded = decodeKey(text);
  return decoded.ok ? { ok: true, seed: decoded.key } : decoded;
}

class Verifier implements AuditVerifier {
  readonly publicKey: string;
  constructor(protected readonly publicKeyObject: KeyObject) {
    this.publicKey = publicKeyObject.export({ format: "der", type: "spki" }).subarray(SPKI_PREFIX.length).toString("base64url");
  }
  verify(seq: number, hash: string, signature: string): boolean {
    const bytes = Buffer.from(signature, "base64url");
    if (bytes.length !== 64) return false;
    return verify(null, message(seq, hash), this.publicKeyObject, bytes);
  }
}

class Signer extends Verifier implements AuditSigner {
  readonly #privateKey: KeyObject;
  constructor(privateKey: KeyObject) {
    super(createPublicKey(privateKey));
    this.#privateKey = privateKey;
  }
  sign(seq: number, hash: string): string {
    return sign(null, message(seq, hash), this.#privateKey).toString("base64url");
  }
}

export function auditSignerFromSeed(seed: Buffer): AuditSigner {
  if (seed.length !== 32) throw new Error("an Ed25519 seed is 32 bytes");
  return new Signer(createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" }));
}

/** A verifier from public key text (base64url, base64 or hex of the 32 raw bytes), or null if malformed. */
export function auditVerifierFromPublicKey(text: string): AuditVerifier | null {
  const raw = decodeKeyBytes(text);
  if (!raw) return null;
  try {
    return new Verifier(createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: "der", type: "spki" }));
  } catch {
    return null;
  }
}

/** Where the key comes from (filled in by the configuration). */
export interface AuditKeySource {
  /** The seed from `AUDIT_SIGNING_KEY`, when set. */
  auditSigningKey: Buffer | null;
  /** `<db folder>/audit-key`, or null for an in-memory database. */
  auditKeyFile: string | null;
}

export class AuditKeyError extends Error {
  override name = "AuditKeyError";
}

/**
 * The signing key: from `AUDIT_SIGNING_KEY`, else read from the key file, else (with
 * `create`) generated into it with an exclusive 0600 create. Without `create`, a
 * missing file gives null (a verifier must not mint a key of its own). An in-memory
 * database gets a key that lives as long as the process, like the database.
 */
export function loadAuditSigner(source: AuditKeySource, options: { create: boolean }): AuditSigner | null {
  if (source.auditSigningKey) return auditSignerFromSeed(source.auditSigningKey);
  const file = source.auditKeyFile;
  if (!file) return options.create ? auditSignerFromSeed(randomBytes(32)) : null;
  const text = readKeyFile(file, options);
  if (text === null) return null;
  const decoded = decodeAuditKey(text);
  if (!decoded.ok) throw new AuditKeyError(`the audit signing key in ${file} ${decoded.message}`);
  return auditSignerFromSeed(decoded.seed);
}
