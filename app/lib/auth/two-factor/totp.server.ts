import { randomBytes, timingSafeEqual } from "node:crypto";
import { HOTP, Secret } from "otpauth";
import QRCode from "qrcode";

/**
 * TOTP as RFC 6238 with the parameters every authenticator app defaults to:
 * HMAC-SHA-1, 6 digits, 30-second steps. A code is accepted for the current step
 * or one step either side (clock drift), and only for a step later than the last
 * one accepted (the replay guard, kept by the caller in `owner_totp.last_used_step`).
 */
export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** Steps accepted either side of the current one. */
export const TOTP_WINDOW = 1;
/** 160-bit secrets, the size RFC 4226 recommends for HMAC-SHA-1. */
export const TOTP_SECRET_BYTES = 20;
export const TOTP_ISSUER = "PreqStation";

/** A code as typed: six digits, spaces and dashes around or between them ignored. */
export function normalizeTotpCode(input: string): string | null {
  const code = input.replace(/[\s-]/g, "");
  return /^\d{6}$/.test(code) ? code : null;
}

/** A new random secret (raw bytes). */
export function newTotpSecret(): Buffer {
  return randomBytes(TOTP_SECRET_BYTES);
}

/** The secret as RFC 4648 base32 without padding, the form authenticator apps take. */
export function totpSecretBase32(secret: Uint8Array): string {
  return new Secret({ buffer: new Uint8Array(secret).buffer }).base32;
}

/** The 30-second step a moment falls in. */
export function totpStep(nowMs: number): number {
  return Math.floor(nowMs / 1000 / TOTP_PERIOD_SECONDS);
}

/** The code of one step. */
export function totpCodeAt(secret: Uint8Array, step: number): string {
  return HOTP.generate({
    secret: new Secret({ buffer: new Uint8Array(secret).buffer }),
    algorithm: "SHA1",
    digits: TOTP_DIGITS,
    counter: step,
  });
}

/** The code an authenticator shows at a moment. */
export function totpCode(secret: Uint8Array, nowMs: number): string {
  return totpCodeAt(secret, totpStep(nowMs));
}

/**
 * The step a code was made for, within one step of now and later than `afterStep`
 * (the last step accepted, or null), or null when it matches none of them. Every
 * candidate is compared, in constant time, whatever matched first. When a code
 * matches two steps (a one-in-a-million coincidence) the later one is taken, so the
 * replay guard moves as far as it can.
 */
export function matchTotpStep(secret: Uint8Array, input: string, nowMs: number, afterStep: number | null): number | null {
  const code = normalizeTotpCode(input);
  if (code === null) return null;
  const given = Buffer.from(code, "ascii");
  const current = totpStep(nowMs);
  let matched: number | null = null;
  for (let step = current - TOTP_WINDOW; step <= current + TOTP_WINDOW; step++) {
    const equal = timingSafeEqual(given, Buffer.from(totpCodeAt(secret, step), "ascii"));
    if (equal && (afterStep === null || step > afterStep)) matched = step;
  }
  return matched;
}

/**
 * The label's account part: the email percent-encoded, except `@`, which is a legal
 * path character and is what authenticator apps show.
 */
function encodeAccount(email: string): string {
  return encodeURIComponent(email).replace(/%40/g, "@");
}

/**
 * The Key URI of contract §6:
 * `otpauth://totp/PreqStation:<email>?secret=<BASE32>&issuer=PreqStation`. The
 * algorithm, digits and period are the format's defaults (SHA1, 6, 30), so they are
 * left out.
 */
export function totpUri(email: string, secret: Uint8Array): string {
  return `otpauth://totp/${TOTP_ISSUER}:${encodeAccount(email)}?secret=${totpSecretBase32(secret)}&issuer=${TOTP_ISSUER}`;
}

/**
 * The URI as a QR code, an SVG document rendered on the server (enrolment works
 * without JavaScript). Medium error correction: a phone camera reads it off a screen.
 */
export function totpQrSvg(uri: string): Promise<string> {
  return QRCode.toString(uri, { type: "svg", errorCorrectionLevel: "M", margin: 2 });
}
