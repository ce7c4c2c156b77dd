import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { nowIso, transaction } from "~/lib/db.server";
import { preparedInsert, preparedQuery } from "~/lib/prepared-query.server";
import { testDatabase, type TestDatabase } from "../support/kit";

// Prepared queries (app/lib/prepared-query.server.ts): written with Kysely, compiled
// once, run on the cached statement — at once when the connection is free, through
// Kysely's connection queue while another caller's group-commit batch is open.

let opened: TestDatabase;
beforeEach(async () => {
  opened = await testDatabase({ file: true });
});
afterEach(async () => {
  await opened.db.destroy();
});

const projectByKey = preparedQuery((db, p: { key: string }) =>
  db.selectFrom("projects").select(["id", "project_key", "name"]).where("project_key", "=", p.key),
);
const projectsNamed = preparedQuery((db, p: { a: string; b: string; limit: number }) =>
  db.selectFrom("projects").select("project_key").where("name", "in", [p.a, p.b]).orderBy("project_key").limit(p.limit),
);
const renameProject = preparedQuery((db, p: { key: string; name: string }) =>
  db.updateTable("projects").set({ name: p.name }).where("project_key", "=", p.key),
);

async function addProject(key: string, name = key) {
  const at = nowIso();
  await opened.db
    .insertInto("projects")
    .values({
      id: `id-${key}`,
      project_key: key,
      name,
      description: "",
      settings: "{}",
      next_task_number: 1,
      created_at: at,
      updated_at: at,
    })
    .execute();
}

describe("preparedQuery", () => {
  it("compiles to the SQL Kysely writes and returns the rows Kysely returns, arguments bound in place", async () => {
    await addProject("ALPHA", "one");
    await addProject("BETA", "two");
    await addProject("GAMMA", "one");
    const built = opened.db.selectFrom("projects").select(["id", "project_key", "name"]).where("project_key", "=", "BETA");
    expect(projectByKey.sql).toBe(built.compile().sql);
    expect(await projectByKey.first(opened.db, { key: "BETA" })).toEqual(await built.executeTakeFirst());
    expect(await projectByKey.first(opened.db, { key: "NOPE" })).toBeUndefined();
    // Arguments in any position, constants and numbers included; each call its own values.
    expect(await projectsNamed.all(opened.db, { a: "one", b: "two", limit: 2 })).toEqual([
      { project_key: "ALPHA" },
      { project_key: "BETA" },
    ]);
    expect(await projectsNamed.all(opened.db, { a: "two", b: "zzz", limit: 5 })).toEqual([{ project_key: "BETA" }]);
    expect(await renameProject.run(opened.db, { key: "GAMMA", name: "three" })).toBe(1);
    expect(await renameProject.run(opened.db, { key: "NOPE", name: "x" })).toBe(0);
    expect((await projectByKey.first(opened.db, { key: "GAMMA" }))?.name).toBe("three");
  });

  it("refuses an argument built into a longer value or spliced into the SQL text", () => {
    expect(() =>
      preparedQuery((db, p: { q: string }) => db.selectFrom("projects").selectAll().where("name", "like", `%${p.q}%`)),
    ).toThrow(/whole parameter/);
    expect(() =>
      preparedQuery((db, p: { column: string }) => db.selectFrom("projects").select(sql.raw<string>(p.column).as("x"))),
    ).toThrow(/spliced into the SQL/);
    expect(() =>
      preparedQuery((db, p: { unused: string }) => db.selectFrom("projects").select(sql.lit(p.unused).as("x"))),
    ).toThrow(/spliced into the SQL|not a parameter/);
  });

  it("never shows a read what an open batch has written and not committed: it waits for the COMMIT", async () => {
    await addProject("ALPHA", "before");
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let written!: () => void;
    const wrote = new Promise<void>((resolve) => (written = resolve));
    const batch = transaction(opened.db, async (trx) => {
      await trx.updateTable("projects").set({ name: "after" }).where("project_key", "=", "ALPHA").execute();
      // Inside the batch, its own writes are visible to a prepared query run on its handle.
      expect((await projectByKey.first(trx, { key: "ALPHA" }))?.name).toBe("after");
      written();
      await held;
    });
    await wrote;
    let read: string | undefined;
    const reading = projectByKey.first(opened.db, { key: "ALPHA" }).then((row) => (read = row?.name));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(read).toBeUndefined(); // still waiting: the batch holds the connection
    release();
    await batch;
    await reading;
    expect(read).toBe("after");
  });

  it("does not show a read the writes of a batch member that failed and was rolled back", async () => {
    await addProject("ALPHA", "before");
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let written!: () => void;
    const wrote = new Promise<void>((resolve) => (written = resolve));
    const failing = transaction(opened.db, async (trx) => {
      await renameProject.run(trx, { key: "ALPHA", name: "never" });
      written();
      await held;
      throw new Error("this member fails");
    });
    await wrote;
    const reading = projectByKey.first(opened.db, { key: "ALPHA" });
    release();
    await expect(failing).rejects.toThrow("this member fails");
    expect((await reading)?.name).toBe("before");
  });
});

describe("preparedInsert", () => {
  const insertProject = preparedInsert("projects", [
    "id",
    "project_key",
    "name",
    "description",
    "repo_url",
    "repo_key",
    "settings",
    "next_task_number",
    "created_at",
    "updated_at",
  ]);
  const row = {
    id: "id-DELTA",
    project_key: "DELTA",
    name: "Delta",
    description: "",
    repo_url: null,
    repo_key: null,
    settings: "{}",
    next_task_number: 1,
    created_at: "2026-01-01T00:00:00.000Z",
    updated_at: "2026-01-01T00:00:00.000Z",
  };

  it("inserts a row with every listed column bound by name", async () => {
    await insertProject.run(opened.db, row);
    expect(await opened.db.selectFrom("projects").selectAll().where("id", "=", "id-DELTA").executeTakeFirst()).toEqual(row);
  });

  it("refuses a row that lacks a value for a listed column instead of storing NULL there", async () => {
    const { name: _name, ...nameless } = row;
    await expect(insertProject.run(opened.db, nameless as typeof row)).rejects.toThrow(/argument name is undefined/);
    expect(await opened.db.selectFrom("projects").selectAll().execute()).toEqual([]);
  });
});
