import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { Owner } from "../../../db/schema";
import { nowIso, type Db } from "../db.server";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "./password.server";

export const EmailSchema = z
  .string({ message: "Enter your email address" })
  .trim()
  .toLowerCase()
  .max(254, "Email is too long")
  .pipe(z.email({ message: "Enter a valid email address" }));

export const NewPasswordSchema = z
  .string({ message: "Enter a password" })
  .min(MIN_PASSWORD_LENGTH, `Use at least ${MIN_PASSWORD_LENGTH} characters`)
  .max(MAX_PASSWORD_LENGTH, `Use at most ${MAX_PASSWORD_LENGTH} characters`)
  .refine((p) => p.trim().length >= MIN_PASSWORD_LENGTH, "A password of mostly spaces is too weak")
  .refine((p) => new Set(p).size >= 5, "Use a less repetitive password");

export class OwnerExistsError extends Error {
  override name = "OwnerExistsError";
  constructor() {
    super("An owner already exists on this instance");
  }
}

export async function ownerExists(db: Db): Promise<boolean> {
  const row = await db.selectFrom("owners").select("id").limit(1).executeTakeFirst();
  return row !== undefined;
}

export async function getOwner(db: Db): Promise<Owner | undefined> {
  return db.selectFrom("owners").selectAll().limit(1).executeTakeFirst();
}

export async function getOwnerByEmail(db: Db, email: string): Promise<Owner | undefined> {
  return db.selectFrom("owners").selectAll().where("email", "=", email.trim().toLowerCase()).executeTakeFirst();
}

/**
 * Inserts the owner. The `singleton` unique column makes a second owner
 * impossible even when two requests race past any application check.
 */
export async function createOwner(db: Db, input: { email: string; passwordHash: string }): Promise<Owner> {
  const now = nowIso();
  const owner: Owner = {
    id: randomUUID(),
    singleton: 1,
    email: input.email.trim().toLowerCase(),
    password_hash: input.passwordHash,
    created_at: now,
    updated_at: now,
  };
  try {
    await db.insertInto("owners").values(owner).execute();
  } catch (error) {
    if ((error as { code?: string }).code?.startsWith("SQLITE_CONSTRAINT")) throw new OwnerExistsError();
    throw error;
  }
  return owner;
}

export async function updateOwnerPassword(db: Db, ownerId: string, passwordHash: string): Promise<void> {
  await db.updateTable("owners").set({ password_hash: passwordHash, updated_at: nowIso() }).where("id", "=", ownerId).execute();
}
