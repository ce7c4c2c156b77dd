import type { Kysely } from "kysely";

// Frozen in time: never import app code here, never edit after it has shipped.

// The console filters the audit log by actor type alone ("everything the owner
// did"), by resource type alone, or by resource id alone, always newest first
// by seq. Without these, SQLite would read every matching row and sort it.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex("audit_log_actor_type").on("audit_log").columns(["actor_type", "seq"]).execute();
  await db.schema.createIndex("audit_log_resource_type").on("audit_log").columns(["resource_type", "seq"]).execute();
  await db.schema.createIndex("audit_log_resource_id").on("audit_log").columns(["resource_id", "seq"]).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("audit_log_resource_id").execute();
  await db.schema.dropIndex("audit_log_resource_type").execute();
  await db.schema.dropIndex("audit_log_actor_type").execute();
}
