import { beforeEach, describe, expect, it } from "vitest";
import type { Db } from "~/lib/db.server";
import { createOwner } from "../../app/lib/auth/owner.server";
import { generateSetupCode, SetupCode } from "../../app/lib/auth/setup.server";
import { testDatabase } from "../support/kit";

let db: Db;
beforeEach(async () => {
  db = (await testDatabase()).db;
});

describe("the one-time setup code", () => {
  it("is announced at start while no owner exists, and is new at every start", async () => {
    const seen: string[] = [];
    const first = new SetupCode();
    await first.refresh(db, (code) => seen.push(code));
    const second = new SetupCode();
    await second.refresh(db, (code) => seen.push(code));
    expect(seen).toHaveLength(2);
    expect(seen[0]).toMatch(/^[A-Z2-9]{5}-[A-Z2-9]{5}-[A-Z2-9]{5}$/);
    expect(seen[0]).not.toBe(seen[1]);
    expect(first.active).toBe(true);
    expect(first.matches(seen[1]!)).toBe(false);
  });

  it("matches the code as printed, in lower case or without dashes, and nothing else", async () => {
    const codes: string[] = [];
    const setup = new SetupCode();
    await setup.refresh(db, (c) => codes.push(c));
    const code = codes[0]!;
    expect(setup.matches(code)).toBe(true);
    expect(setup.matches(code.toLowerCase())).toBe(true);
    expect(setup.matches(code.replaceAll("-", ""))).toBe(true);
    expect(setup.matches(code.slice(0, -1))).toBe(false);
    expect(setup.matches("")).toBe(false);
    expect(setup.matches(generateSetupCode())).toBe(false);
  });

  it("is never valid again once consumed", async () => {
    const codes: string[] = [];
    const setup = new SetupCode();
    await setup.refresh(db, (c) => codes.push(c));
    setup.consume();
    expect(setup.active).toBe(false);
    expect(setup.matches(codes[0]!)).toBe(false);
  });

  it("is neither generated nor printed when an owner exists", async () => {
    await createOwner(db, { email: "a@example.com", passwordHash: "h" });
    const seen: string[] = [];
    const setup = new SetupCode();
    await setup.refresh(db, (code) => seen.push(code));
    expect(seen).toEqual([]);
    expect(setup.active).toBe(false);
  });

  it("has about 75 bits of randomness (15 characters from 32)", () => {
    const codes = new Set(Array.from({ length: 2000 }, generateSetupCode));
    expect(codes.size).toBe(2000);
  });
});
