import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from "node:crypto";
import os from "node:os";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "./password-policy";
import { Semaphore } from "./semaphore";

/**
 * Password hashing with scrypt (Node's built-in, run on the libuv thread pool so
 * it never blocks the event loop). Parameters are OWASP's N=2^14, r=8, p=5
 * (16 MiB each) and are stored in the hash so they can be raised later:
 * `scrypt$n=16384,r=8,p=5$<salt b64url>$<key b64url>`.
 */
export const SCRYPT_PARAMS = { N: 2 ** 14, r: 8, p: 5 } as const;
export type ScryptParams = { N: number; r: number; p: number };
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
/** Bounds a stored hash must respect to be verified at all (a corrupt row must not cost minutes of CPU). */
const LIMITS = { minN: 2 ** 10, maxN: 2 ** 20, maxR: 32, maxP: 16, minBytes: 16, maxBytes: 64 } as const;
export { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH };

/**
 * Hashes and verifies passwords with at most `slots.limit` scrypt computations at once
 * (default: cores − 1, at least one). Each costs ~150 ms of CPU and 16 MiB; left to the
 * libuv pool's 4 threads, ten concurrent sign-ins on a 2-core machine take every core
 * from the request thread and the API stalls (bench: API p99 3.96× during sign-ins
 * uncapped, 1.9× capped). One per process: Services owns the server's (`passwords`),
 * the CLI makes one per run; commands that hash take it from their deps.
 */
export interface PasswordHasher {
  hash(password: string, params?: ScryptParams): Promise<string>;
  verify(password: string, stored: string): Promise<boolean>;
  readonly slots: Semaphore;
}

export function createPasswordHasher(limit = Math.max(1, os.availableParallelism() - 1)): PasswordHasher {
  const slots = new Semaphore(limit);
  return {
    slots,
    hash: (password, params) => hashPassword(slots, password, params),
    verify: (password, stored) => verifyPassword(slots, password, stored),
  };
}

/** What a command that hashes or checks a password needs besides CommandDeps. */
export interface PasswordDeps {
  passwords: PasswordHasher;
}

function scrypt(slots: Semaphore, password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return slots.run(
    () =>
      new Promise<Buffer>((resolve, reject) => {
        scryptCallback(password.normalize("NFKC"), salt, keylen, { ...options, maxmem: 256 * 1024 * 1024 }, (err, key) =>
          err ? reject(err) : resolve(key),
        );
      }),
  );
}

function format(params: ScryptParams, salt: Buffer, key: Buffer): string {
  return `scrypt$n=${params.N},r=${params.r},p=${params.p}$${salt.toString("base64url")}$${key.toString("base64url")}`;
}

/** Hashes a password with a fresh 128-bit salt; the result records its parameters. */
async function hashPassword(slots: Semaphore, password: string, params: ScryptParams = SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await scrypt(slots, password, salt, KEY_LENGTH, params);
  return format(params, salt, key);
}

export interface ParsedHash extends ScryptParams {
  salt: Buffer;
  key: Buffer;
}

/** Reads a stored hash; null when it is not one of ours or its parameters are out of bounds. */
export function parsePasswordHash(stored: string): ParsedHash | null {
  const m = /^scrypt\$n=(\d{1,8}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(stored);
  if (!m) return null;
  const parsed = {
    N: Number(m[1]),
    r: Number(m[2]),
    p: Number(m[3]),
    salt: Buffer.from(m[4]!, "base64url"),
    key: Buffer.from(m[5]!, "base64url"),
  };
  const powerOfTwo = (parsed.N & (parsed.N - 1)) === 0;
  const inBounds =
    powerOfTwo &&
    parsed.N >= LIMITS.minN &&
    parsed.N <= LIMITS.maxN &&
    parsed.r >= 1 &&
    parsed.r <= LIMITS.maxR &&
    parsed.p >= 1 &&
    parsed.p <= LIMITS.maxP &&
    parsed.salt.length >= LIMITS.minBytes &&
    parsed.salt.length <= LIMITS.maxBytes &&
    parsed.key.length >= LIMITS.minBytes &&
    parsed.key.length <= LIMITS.maxBytes;
  return inBounds ? parsed : null;
}

/** Constant-time check of a password against a stored hash. A malformed hash never matches. */
async function verifyPassword(slots: Semaphore, password: string, stored: string): Promise<boolean> {
  const parsed = parsePasswordHash(stored);
  if (!parsed) return false;
  const key = await scrypt(slots, password, parsed.salt, parsed.key.length, { N: parsed.N, r: parsed.r, p: parsed.p });
  return timingSafeEqual(key, parsed.key);
}

/** True when a stored hash uses weaker parameters than today's, so it should be re-hashed at next sign-in. */
export function needsRehash(stored: string): boolean {
  const parsed = parsePasswordHash(stored);
  return !parsed || parsed.N < SCRYPT_PARAMS.N || parsed.r < SCRYPT_PARAMS.r || parsed.p < SCRYPT_PARAMS.p;
}

/**
 * A well-formed hash with today's parameters whose key is random bytes, so no
 * password verifies against it. Sign-in checks an unknown email's password
 * against one of these: the same single scrypt as for the real owner, no
 * timing oracle, and nothing to compute or cache ahead of time.
 */
export function unmatchableHash(params: ScryptParams = SCRYPT_PARAMS): string {
  return format(params, randomBytes(SALT_LENGTH), randomBytes(KEY_LENGTH));
}
