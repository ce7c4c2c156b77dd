/**
 * The block_reason migration on a real SQLite file: a task blocked from the owner's page
 * before it (the reason merged into `result`) keeps showing its reason; nothing else moves.
 */
import path from "node:path";
import { sql } from "kysely";
import { Migrator } from "kysely/migration";
import { describe, expect, it } from "vitest";
import { migrations } from "../../db/migrations/index";
import { openDatabase } from "../../app/lib/db.server";
import { getTaskView } from "../../app/lib/tasks/tasks.server";
import { testDir } from "../support/kit";

const MIGRATION = "2026_12_07_2310_block_reason";
/** The migration just before it, whatever later branches add around it. */
const names = Object.keys(migrations).sort();
const BEFORE = names[names.indexOf(MIGRATION) - 1]!;

describe(`migration ${MIGRATION}`, () => {
  it("copies a held task's result.block_reason into the new column and leaves results and other tasks alone", async () => {
    const { db } = openDatabase(path.join(testDir("preq-migration-"), "old.db"));
    try {
      const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
      expect((await migrator.migrateTo(BEFORE)).error).toBeUndefined();
      const at = "2026-12-01T00:00:00.000Z";
      await sql`insert into projects (id, project_key, name, created_at, updated_at) values ('p1', 'OLD', 'Old', ${at}, ${at})`.execute(
        db,
      );
      const rows: [string, string, string | null][] = [
        ["OLD-1", "hold", JSON.stringify({ summary: "agent", block_reason: "  waiting on design " })],
        ["OLD-2", "todo", JSON.stringify({ block_reason: "left hold since" })],
        ["OLD-3", "hold", "not json"],
        ["OLD-4", "hold", JSON.stringify({ block_reason: 42 })],
        ["OLD-5", "hold", null],
      ];
      for (const [i, [key, status, result]] of rows.entries()) {
        await sql`insert into tasks (id, task_key, project_id, number, title, status, priority, result, version, created_at, updated_at)
          values (${`t${i}`}, ${key}, 'p1', ${i + 1}, 'Old task', ${status}, 'none', ${result}, 3, ${at}, ${at})`.execute(db);
      }
      expect((await migrator.migrateToLatest()).error).toBeUndefined();

      const after = await sql<{ task_key: string; block_reason: string | null; result: string | null; version: number }>`
        select task_key, block_reason, result, version from tasks order by task_key`.execute(db);
      expect(after.rows.map((r) => [r.task_key, r.block_reason])).toEqual([
        ["OLD-1", "waiting on design"],
        ["OLD-2", null],
        ["OLD-3", null],
        ["OLD-4", null],
        ["OLD-5", null],
      ]);
      expect(after.rows.map((r) => r.result)).toEqual(rows.map(([, , result]) => result));
      expect(after.rows.every((r) => r.version === 3)).toBe(true);
      expect(await getTaskView(db, "OLD-1")).toMatchObject({ status: "hold", block_reason: "waiting on design" });

      // And back down (through any later migration): the column goes, the rest stays.
      expect((await migrator.migrateTo(BEFORE)).error).toBeUndefined();
      const columns = await sql<{ name: string }>`select name from pragma_table_info('tasks')`.execute(db);
      expect(columns.rows.map((c) => c.name)).not.toContain("block_reason");
    } finally {
      await db.destroy();
    }
  });
});
