import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../app/lib/env.server";
import { loadDataKeyOrFail } from "../../app/server/services.server";
import { dataKeyFromBytes, loadDataKey, SealedDataError } from "../../app/lib/auth/two-factor/data-key.server";
import {
  matchTotpStep,
  normalizeTotpCode,
  totpCode,
  totpCodeAt,
  totpQrSvg,
  totpStep,
  totpUri,
} from "../../app/lib/auth/two-factor/totp.server";
import {
  generateRecoveryCode,
  generateRecoveryCodes,
  normalizeRecoveryCode,
  RECOVERY_CODE_PATTERN,
} from "../../app/lib/auth/two-factor/recovery-codes.server";

const RFC_SECRET = Buffer.from("12345678901234567890", "ascii");

describe("TOTP (RFC 6238, SHA-1, 6 digits, 30 s)", () => {
  it("matches the RFC 6238 appendix B SHA-1 vectors (last six digits)", () => {
    const vectors: [number, string][] = [
      [59, "94287082"],
      [1111111109, "07081804"],
      [1111111111, "14050471"],
      [1234567890, "89005924"],
      [2000000000, "69279037"],
    ];
    for (const [seconds, eight] of vectors) {
      expect(totpCode(RFC_SECRET, seconds * 1000)).toBe(eight.slice(-6));
    }
  });

  it("accepts a code one step either side of now, and not two", () => {
    const now = 1_234_567_890_000;
    const step = totpStep(now);
    for (const d of [-1, 0, 1]) expect(matchTotpStep(RFC_SECRET, totpCodeAt(RFC_SECRET, step + d), now, null)).toBe(step + d);
    for (const d of [-2, 2]) expect(matchTotpStep(RFC_SECRET, totpCodeAt(RFC_SECRET, step + d), now, null)).toBeNull();
  });

  it("refuses a code for the last accepted step or an earlier one (replay guard)", () => {
    const now = 1_234_567_890_000;
    const step = totpStep(now);
    const code = totpCodeAt(RFC_SECRET, step);
    expect(matchTotpStep(RFC_SECRET, code, now, step - 1)).toBe(step);
    expect(matchTotpStep(RFC_SECRET, code, now, step)).toBeNull();
    expect(matchTotpStep(RFC_SECRET, totpCodeAt(RFC_SECRET, step - 1), now, step - 1)).toBeNull();
    expect(matchTotpStep(RFC_SECRET, totpCodeAt(RFC_SECRET, step + 1), now, step)).toBe(step + 1);
  });

  it("takes six digits with spaces or a dash, nothing else", () => {
    expect(normalizeTotpCode(" 123 456 ")).toBe("123456");
    expect(normalizeTotpCode("123-456")).toBe("123456");
    for (const bad of ["12345", "1234567", "12345a", "", "１２３４５６"]) expect(normalizeTotpCode(bad)).toBeNull();
  });

  it("writes the otpauth URI of contract §6 and renders it as an SVG QR code", async () => {
    const uri = totpUri("owner@example.com", RFC_SECRET);
    expect(uri).toBe("otpauth://totp/PreqStation:owner@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=PreqStation");
    expect(totpUri("a+b@example.com", RFC_SECRET)).toContain("PreqStation:a%2Bb@example.com?");
    const svg = await totpQrSvg(uri);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("</svg>");
    expect(svg).not.toContain("<script");
  });
});

describe("sealing with the data key (AES-256-GCM)", () => {
  const key = dataKeyFromBytes(randomBytes(32));
  const secret = randomBytes(20);

  it("round-trips, with a fresh nonce each time and a versioned format", () => {
    const a = key.seal("totp-secret", "owner-1", secret);
    const b = key.seal("totp-secret", "owner-1", secret);
    expect(a).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(Buffer.from(a.slice(3), "base64url").subarray(0, 12)).not.toEqual(
      Buffer.from(b.slice(3), "base64url").subarray(0, 12),
    );
    expect(key.open("totp-secret", "owner-1", a)).toEqual(secret);
    expect(key.open("totp-secret", "owner-1", b)).toEqual(secret);
  });

  function flip(sealed: string, index: (length: number) => number): string {
    const bytes = Buffer.from(sealed.slice(3), "base64url");
    const i = index(bytes.length);
    bytes[i] = bytes[i]! ^ 0x01;
    return `v1.${bytes.toString("base64url")}`;
  }

  it("refuses a flipped bit in the nonce, the ciphertext or the tag", () => {
    const sealed = key.seal("totp-secret", "owner-1", secret);
    for (const at of [() => 0, () => 11, () => 12, (n: number) => n - 17, (n: number) => n - 16, (n: number) => n - 1]) {
      expect(() => key.open("totp-secret", "owner-1", flip(sealed, at))).toThrow(SealedDataError);
    }
  });

  it("refuses it for another purpose or owner (associated data), under another key, truncated or re-versioned", () => {
    const sealed = key.seal("totp-secret", "owner-1", secret);
    expect(() => key.open("totp-enrolment", "owner-1", sealed)).toThrow(SealedDataError);
    expect(() => key.open("totp-secret", "owner-2", sealed)).toThrow(SealedDataError);
    expect(() => dataKeyFromBytes(randomBytes(32)).open("totp-secret", "owner-1", sealed)).toThrow(SealedDataError);
    expect(() => key.open("totp-secret", "owner-1", sealed.slice(0, 30))).toThrow(SealedDataError);
    expect(() => key.open("totp-secret", "owner-1", `v2${sealed.slice(2)}`)).toThrow(SealedDataError);
    expect(() => key.open("totp-secret", "owner-1", "v1.!!!")).toThrow(SealedDataError);
    expect(() => key.open("totp-secret", "owner-1", "")).toThrow(SealedDataError);
  });
});

describe("the data key's source", () => {
  const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "preq-datakey-"));

  it("is generated once into <db folder>/data-key, mode 0600, and read back on the next start", () => {
    const dir = tempDir();
    const config = loadConfig({ DATABASE_PATH: path.join(dir, "p.db") });
    expect(config.dataKeyFile).toBe(path.join(dir, "data-key"));
    const first = loadDataKeyOrFail(config);
    expect(fs.statSync(path.join(dir, "data-key")).mode & 0o777).toBe(0o600);
    const sealed = first.seal("totp-secret", "o", Buffer.from("x"));
    const again = loadDataKeyOrFail(loadConfig({ DATABASE_PATH: path.join(dir, "p.db") }));
    expect(again.open("totp-secret", "o", sealed).toString()).toBe("x");
    // Rotating SESSION_SECRET changes nothing about it.
    const rotated = loadDataKeyOrFail(
      loadConfig({ DATABASE_PATH: path.join(dir, "p.db"), SESSION_SECRET: "k".repeat(8) + randomBytes(24).toString("hex") }),
    );
    expect(rotated.open("totp-secret", "o", sealed).toString()).toBe("x");
  });

  it("comes from DATA_KEY (base64url, base64 or hex) without touching the file", () => {
    const dir = tempDir();
    const raw = randomBytes(32);
    for (const text of [raw.toString("base64url"), raw.toString("base64"), raw.toString("hex")]) {
      const config = loadConfig({ DATABASE_PATH: path.join(dir, "p.db"), DATA_KEY: text });
      expect(config.dataKey).toEqual(raw);
      const sealed = loadDataKey(config, { create: true })!.seal("totp-secret", "o", Buffer.from("y"));
      expect(dataKeyFromBytes(raw).open("totp-secret", "o", sealed).toString()).toBe("y");
    }
    expect(fs.existsSync(path.join(dir, "data-key"))).toBe(false);
  });

  it("refuses a malformed DATA_KEY or key file at start, naming DATA_KEY", () => {
    expect(() => loadConfig({ DATABASE_PATH: ":memory:", DATA_KEY: "too-short" })).toThrow(/DATA_KEY: must be 32 random bytes/);
    expect(() => loadConfig({ DATABASE_PATH: ":memory:", DATA_KEY: "00".repeat(32) })).toThrow(/DATA_KEY: is one repeated byte/);
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "data-key"), "nonsense\n", { mode: 0o600 });
    expect(() => loadDataKeyOrFail(loadConfig({ DATABASE_PATH: path.join(dir, "p.db") }))).toThrow(
      /DATA_KEY: the data key in .*data-key must be/,
    );
  });

  it("parses SUDO_MAX_AGE: default 900, a positive whole number of seconds", () => {
    expect(loadConfig({ DATABASE_PATH: ":memory:" }).sudoMaxAgeSeconds).toBe(900);
    expect(loadConfig({ DATABASE_PATH: ":memory:", SUDO_MAX_AGE: "2" }).sudoMaxAgeSeconds).toBe(2);
    for (const bad of ["0", "-5", "1.5", "abc", "86401"]) {
      expect(() => loadConfig({ DATABASE_PATH: ":memory:", SUDO_MAX_AGE: bad })).toThrow(/SUDO_MAX_AGE/);
    }
  });
});

describe("recovery codes", () => {
  it("are 10 distinct xxxxx-xxxxx codes of lowercase letters and digits", () => {
    const codes = generateRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) expect(c).toMatch(RECOVERY_CODE_PATTERN);
  });

  it("use every symbol and draw again on bytes 252-255 (no modulo bias)", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) for (const ch of generateRecoveryCode().replace("-", "")) seen.add(ch);
    expect(seen.size).toBe(36);
    let call = 0;
    const code = generateRecoveryCode((size) => (call++ === 0 ? Buffer.alloc(size, 252) : Buffer.alloc(size, 1)));
    expect(code).toBe("bbbbb-bbbbb");
  });

  it("are read case- and space-insensitively, dash optional", () => {
    expect(normalizeRecoveryCode(" ABCDE-12345 ")).toBe("abcde-12345");
    expect(normalizeRecoveryCode("abcde12345")).toBe("abcde-12345");
    for (const bad of ["abcde-1234", "abcde_12345", "abcde--12345", "123456"]) expect(normalizeRecoveryCode(bad)).toBeNull();
  });
});
