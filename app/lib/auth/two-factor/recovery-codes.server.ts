import { randomBytes, timingSafeEqual } from "node:crypto";
import type { DataKey } from "./data-key.server";

/**
 * Recovery codes: 10 per set, each `xxxxx-xxxxx` of lowercase letters and digits
 * (36 symbols, 10 characters: about 51.7 bits), drawn without modulo bias. Shown
 * once; stored only as HMAC-SHA256 under the data key (bound to the owner), so a
 * copy of the database alone allows no offline guessing.
 */
export const RECOVERY_CODE_COUNT = 10;
export const RECOVERY_CODE_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
export const RECOVERY_CODE_PATTERN = /^[a-z0-9]{5}-[a-z0-9]{5}$/;
/** Bytes at or above this would make `byte % 36` favour the first symbols: they are drawn again. */
const UNBIASED_BYTE_LIMIT = 256 - (256 % RECOVERY_CODE_ALPHABET.length); // 252

/** One new code. `random` is injectable only so a test can feed it chosen bytes. */
export function generateRecoveryCode(random: (size: number) => Buffer = randomBytes): string {
  let body = "";
  while (body.length < 10) {
    for (const byte of random(16)) {
      if (byte >= UNBIASED_BYTE_LIMIT) continue;
      body += RECOVERY_CODE_ALPHABET[byte % RECOVERY_CODE_ALPHABET.length];
      if (body.length === 10) break;
    }
  }
  return `${body.slice(0, 5)}-${body.slice(5)}`;
}

/** A fresh set of distinct codes. */
export function generateRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  const codes = new Set<string>();
  while (codes.size < count) codes.add(generateRecoveryCode());
  return [...codes];
}

/**
 * A code as typed, in its canonical form, or null when it cannot be one: case and
 * surrounding or inner spaces do not matter, and the dash may be left out.
 */
export function normalizeRecoveryCode(input: string): string | null {
  const compact = input.replace(/\s/g, "").toLowerCase();
  const body = /^[a-z0-9]{5}-[a-z0-9]{5}$/.test(compact) ? compact.replace("-", "") : compact;
  return /^[a-z0-9]{10}$/.test(body) ? `${body.slice(0, 5)}-${body.slice(5)}` : null;
}

/** The stored form of a (canonical) code: hex HMAC under the data key, bound to the owner. */
export function hashRecoveryCode(dataKey: DataKey, ownerId: string, code: string): string {
  return dataKey.mac("recovery-code/v1", `${ownerId}\n${code}`).toString("hex");
}

/**
 * The index of the stored hash equal to `hash`, or -1. Every candidate is compared in
 * constant time and the loop never stops early, so the time taken says nothing about
 * which (or whether one) matched.
 */
export function findHash(candidates: readonly string[], hash: string): number {
  const given = Buffer.from(hash, "hex");
  let found = -1;
  candidates.forEach((candidate, index) => {
    const stored = Buffer.from(candidate, "hex");
    if (stored.length === given.length && timingSafeEqual(stored, given) && found === -1) found = index;
  });
  return found;
}
