import { type Kysely, sql } from "kysely";

// Frozen in time: never import app code here, never edit after it has shipped.

export async function up(db: Kysely<any>): Promise<void> {
  // API tokens. Only the SHA-256 (hex) of the token is stored; `hint` is the
  // display form (`preq_ab12…yz89`), never enough to use.
  await db.schema
    .createTable("api_tokens")
    .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
    .addColumn("owner_id", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("hint", "text", (c) => c.notNull())
    .addColumn("scope", "text", (c) => c.notNull().check(sql`scope in ('full', 'read')`))
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("expires_at", "text")
    .addColumn("revoked_at", "text")
    .addColumn("last_used_at", "text")
    .addColumn("last_used_ip", "text")
    .execute();

  // The audit log: append-only (triggers below) and hash-chained:
  // hash = SHA-256(prev_hash ‖ canonical entry). `prev_hash` is unique, so the
  // chain cannot fork. `seq` has no gaps unless a row was removed behind our back.
  await db.schema
    .createTable("audit_log")
    .addColumn("seq", "integer", (c) => c.primaryKey())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("actor_type", "text", (c) => c.notNull().check(sql`actor_type in ('owner', 'token', 'cli')`))
    .addColumn("actor_id", "text", (c) => c.notNull())
    .addColumn("actor_label", "text", (c) => c.notNull())
    .addColumn("action", "text", (c) => c.notNull())
    .addColumn("resource_type", "text", (c) => c.notNull())
    .addColumn("resource_id", "text", (c) => c.notNull())
    .addColumn("changes", "text", (c) => c.notNull())
    .addColumn("ip", "text", (c) => c.notNull())
    .addColumn("user_agent", "text", (c) => c.notNull())
    .addColumn("request_id", "text", (c) => c.notNull())
    .addColumn("prev_hash", "text", (c) => c.notNull().unique())
    .addColumn("hash", "text", (c) => c.notNull().unique())
    .execute();
  await db.schema.createIndex("audit_log_actor").on("audit_log").columns(["actor_type", "actor_id", "seq"]).execute();
  await db.schema.createIndex("audit_log_action").on("audit_log").columns(["action", "seq"]).execute();
  await db.schema.createIndex("audit_log_resource").on("audit_log").columns(["resource_type", "resource_id", "seq"]).execute();
  await db.schema.createIndex("audit_log_created_at").on("audit_log").columns(["created_at", "seq"]).execute();

  await sql`create trigger audit_log_no_update before update on audit_log
    begin select raise(abort, 'audit_log is append-only'); end`.execute(db);
  await sql`create trigger audit_log_no_delete before delete on audit_log
    begin select raise(abort, 'audit_log is append-only'); end`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger if exists audit_log_no_delete`.execute(db);
  await sql`drop trigger if exists audit_log_no_update`.execute(db);
  await db.schema.dropTable("audit_log").execute();
  await db.schema.dropTable("api_tokens").execute();
}
