import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { testDatabase, testOwner, testServices, testToken } from "../support/kit";

// The kit's promises: a migrated database and real services, cleaned up when the test ends.
describe("the test kit", () => {
  let leftBehind: { dir: string; db: Awaited<ReturnType<typeof testDatabase>> } | undefined;

  it("builds migrated services with the test audit key, an owner and a token of the asked scope", async () => {
    const services = await testServices();
    const token = await testToken(services, "read");
    expect(token.summary.scope).toBe("read");
    expect(token.plaintext).toMatch(/^preq_[A-Za-z0-9]{32}$/);
    const audit = await services.db.selectFrom("audit_log").select(["action", "resource_id"]).execute();
    expect(audit).toEqual([{ action: "api_token.create", resource_id: String(token.summary.id) }]);
    expect(fs.existsSync(services.dbPath)).toBe(true);
    leftBehind = { dir: services.dir, db: await testDatabase() };
  });

  it("removed the services' folder and closed the database once the test that made them ended", async () => {
    expect(leftBehind).toBeDefined();
    expect(fs.existsSync(leftBehind!.dir)).toBe(false);
    await expect(leftBehind!.db.db.selectFrom("owners").selectAll().execute()).rejects.toThrow(/destroyed/);
  });

  it("gives one owner per database: a second is refused by the schema", async () => {
    const { db } = await testDatabase();
    await testOwner(db);
    await expect(testOwner(db, { email: "other@example.com" })).rejects.toThrow();
  });
});
