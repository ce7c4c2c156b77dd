import { describe, expect, it } from "vitest";
import {
  createPasswordHasher,
  needsRehash,
  parsePasswordHash,
  SCRYPT_PARAMS,
  unmatchableHash,
} from "../../app/lib/auth/password.server";

const { hash: hashPassword, verify: verifyPassword } = createPasswordHasher();

const PASSWORD = "correct horse battery staple";

describe("password hashing", () => {
  it("verifies the password it hashed and refuses any other", async () => {
    const stored = await hashPassword(PASSWORD);
    expect(await verifyPassword(PASSWORD, stored)).toBe(true);
    expect(await verifyPassword(`${PASSWORD}!`, stored)).toBe(false);
    expect(await verifyPassword("", stored)).toBe(false);
  });

  it("stores scrypt with its OWASP parameters, a 128-bit salt and a 256-bit key, never the password", async () => {
    const stored = await hashPassword(PASSWORD);
    expect(stored).toMatch(/^scrypt\$n=16384,r=8,p=5\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(stored).not.toContain(PASSWORD);
    const parsed = parsePasswordHash(stored)!;
    expect({ N: parsed.N, r: parsed.r, p: parsed.p }).toEqual(SCRYPT_PARAMS);
    expect(parsed.salt).toHaveLength(16);
    expect(parsed.key).toHaveLength(32);
  });

  it("salts every hash, so the same password never hashes the same twice", async () => {
    expect(await hashPassword(PASSWORD)).not.toBe(await hashPassword(PASSWORD));
  });

  it("does not truncate long passwords (unlike bcrypt at 72 bytes)", async () => {
    const long = "a".repeat(100);
    const stored = await hashPassword(long);
    expect(await verifyPassword(`${"a".repeat(99)}b`, stored)).toBe(false);
    expect(await verifyPassword(long, stored)).toBe(true);
  });

  it("verifies a hash made with older parameters and asks for it to be upgraded", async () => {
    const weak = await hashPassword(PASSWORD, { N: 2 ** 12, r: 8, p: 1 });
    expect(weak).toMatch(/^scrypt\$n=4096,r=8,p=1\$/);
    expect(await verifyPassword(PASSWORD, weak)).toBe(true);
    expect(needsRehash(weak)).toBe(true);
    expect(needsRehash(await hashPassword(PASSWORD))).toBe(false);
  });

  it("never matches a malformed or out-of-bounds stored hash", async () => {
    const good = await hashPassword(PASSWORD);
    const [, , salt, key] = good.split("$");
    const bad = [
      "",
      PASSWORD,
      `scrypt$n=1073741824,r=8,p=5$${salt}$${key}`, // would cost minutes of CPU
      `scrypt$n=16383,r=8,p=5$${salt}$${key}`, // not a power of two
      `scrypt$n=16384,r=8,p=5$${salt}$A`, // an empty key would compare equal to anything empty
      `scrypt$n=16384,r=8,p=5$A$${key}`,
      `bcrypt$n=16384,r=8,p=5$${salt}$${key}`,
    ];
    for (const stored of bad) {
      expect(parsePasswordHash(stored), stored).toBeNull();
      expect(await verifyPassword(PASSWORD, stored), stored).toBe(false);
    }
  });

  it("gives sign-in an unmatchable hash with today's parameters, so an unknown email costs one scrypt too", async () => {
    const a = unmatchableHash();
    const b = unmatchableHash();
    expect(a).not.toBe(b);
    const parsed = parsePasswordHash(a)!;
    expect({ N: parsed.N, r: parsed.r, p: parsed.p }).toEqual(SCRYPT_PARAMS);
    expect(parsed.key).toHaveLength(32);
    expect(await verifyPassword(PASSWORD, a)).toBe(false);
    expect(await verifyPassword("", a)).toBe(false);
  });
});
