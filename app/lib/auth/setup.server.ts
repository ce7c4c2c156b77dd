import { createHash, randomInt, timingSafeEqual } from "node:crypto";
import type { Db } from "../db.server";
import { ownerExists } from "./owner.server";

const ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"; // no 0/O, 1/I

/**
 * The one-time setup code that lets the first visitor create the owner. It lives
 * only in this process's memory, is regenerated at every start while no owner
 * exists, and is gone once an owner does.
 */
export class SetupCode {
  private code: string | null = null;

  /** Generates a fresh code when no owner exists (announcing it), else clears it. */
  async refresh(db: Db, announce?: (code: string) => void): Promise<void> {
    if (await ownerExists(db)) {
      this.code = null;
      return;
    }
    this.code = generateSetupCode();
    announce?.(this.code);
  }

  get active(): boolean {
    return this.code !== null;
  }

  /** Constant-time comparison; case and dashes do not matter. */
  matches(candidate: string): boolean {
    if (this.code === null) return false;
    const a = createHash("sha256").update(normalize(candidate)).digest();
    const b = createHash("sha256").update(normalize(this.code)).digest();
    return timingSafeEqual(a, b);
  }

  /** Called once the owner exists: the code is never valid again. */
  consume(): void {
    this.code = null;
  }
}

/** 15 characters from a 32-letter alphabet (75 bits), shown as XXXXX-XXXXX-XXXXX. */
export function generateSetupCode(): string {
  const chars = Array.from({ length: 15 }, () => ALPHABET[randomInt(ALPHABET.length)]).join("");
  return `${chars.slice(0, 5)}-${chars.slice(5, 10)}-${chars.slice(10)}`;
}

function normalize(code: string): string {
  return code.toUpperCase().replace(/[^A-Z0-9]/g, "");
}
