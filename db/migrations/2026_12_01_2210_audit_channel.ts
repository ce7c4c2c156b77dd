import { sql, type Kysely } from "kysely";

// Frozen in time: never import app code here, never edit after it has shipped.

// Through which door a change came: the JSON API (`api`), the MCP endpoint
// (`mcp`), the owner's web pages (`web`) or the admin CLI (`cli`). Entries
// written before this column existed keep NULL: their hashes were computed
// without it, and the audit log is append-only (no UPDATE can backfill it).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("audit_log")
    .addColumn("channel", "text", (c) => c.check(sql`channel in ('api', 'mcp', 'web', 'cli')`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("audit_log").dropColumn("channel").execute();
}
