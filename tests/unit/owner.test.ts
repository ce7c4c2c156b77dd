import { beforeEach, describe, expect, it } from "vitest";
import type { OpenedDatabase } from "~/lib/db.server";
import { createOwner, getOwnerByEmail, NewPasswordSchema, OwnerExistsError, ownerExists } from "../../app/lib/auth/owner.server";
import { testDatabase } from "../support/kit";

let opened: OpenedDatabase;
beforeEach(async () => {
  opened = await testDatabase();
});

describe("the single owner", () => {
  it("is created once, with a lower-cased email", async () => {
    expect(await ownerExists(opened.db)).toBe(false);
    const owner = await createOwner(opened.db, { email: " Owner@Example.COM ", passwordHash: "h" });
    expect(owner.email).toBe("owner@example.com");
    expect(await ownerExists(opened.db)).toBe(true);
    expect((await getOwnerByEmail(opened.db, "OWNER@example.com"))?.id).toBe(owner.id);
  });

  it("cannot be created twice through the application", async () => {
    await createOwner(opened.db, { email: "a@example.com", passwordHash: "h" });
    await expect(createOwner(opened.db, { email: "b@example.com", passwordHash: "h" })).rejects.toBeInstanceOf(OwnerExistsError);
  });

  it("is unique in the database itself, even when a raw insert bypasses every application check", async () => {
    await createOwner(opened.db, { email: "a@example.com", passwordHash: "h" });
    const insert = opened.sqlite.prepare(
      "insert into owners (id, email, password_hash, created_at, updated_at) values (?, ?, 'h', 'now', 'now')",
    );
    expect(() => insert.run("second-owner", "b@example.com")).toThrow(/UNIQUE constraint failed: owners.singleton/);
    const withOtherSingleton = opened.sqlite.prepare(
      "insert into owners (id, singleton, email, password_hash, created_at, updated_at) values ('third', 2, 'c@example.com', 'h', 'now', 'now')",
    );
    expect(() => withOtherSingleton.run()).toThrow(/CHECK constraint failed/);
    expect(opened.sqlite.prepare("select count(*) as n from owners").get()).toEqual({ n: 1 });
  });

  it("refuses a second owner when two creations race", async () => {
    const results = await Promise.allSettled([
      createOwner(opened.db, { email: "a@example.com", passwordHash: "h" }),
      createOwner(opened.db, { email: "b@example.com", passwordHash: "h" }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(opened.sqlite.prepare("select count(*) as n from owners").get()).toEqual({ n: 1 });
  });
});

describe("a new password", () => {
  it.each([
    ["11 characters", "abcdefghijk"],
    ["mostly spaces", "ab          "],
    ["repetitive", "aaaaaaaabbbbbbbb"],
    ["over 1024 characters", `${"abcdefghij".repeat(103)}`],
  ])("is refused when %s", (_why, password) => {
    expect(NewPasswordSchema.safeParse(password).success).toBe(false);
  });

  it("is accepted at 12 varied characters", () => {
    expect(NewPasswordSchema.safeParse("abcdefghijkl").success).toBe(true);
  });
});
