import { sql, type Kysely } from "kysely";

// Frozen in time: never import app code here, never edit after it has shipped.

// Coordination between agents (contract §11): claims with leases, dependencies,
// and the `system` actor that records a lease's expiry.
export async function up(db: Kysely<any>): Promise<void> {
  // The claim: who holds the task (a token or an OAuth grant: its type, id and the
  // name shown) and until when. All four are null when the task is free; a lease
  // whose `lease_expires_at` has passed is free too (a claim may take it over).
  await db.schema
    .alterTable("tasks")
    .addColumn("claimed_by_type", "text", (c) => c.check(sql`claimed_by_type in ('token', 'oauth')`))
    .execute();
  await db.schema.alterTable("tasks").addColumn("claimed_by_id", "text").execute();
  await db.schema.alterTable("tasks").addColumn("claimed_by_name", "text").execute();
  await db.schema.alterTable("tasks").addColumn("lease_expires_at", "text").execute();
  // The sweeper's and `next`'s look-up of expired leases.
  await db.schema.createIndex("tasks_lease_expires_at").on("tasks").columns(["lease_expires_at"]).execute();
  // `next` and `?ready=true`: the todo tasks, oldest first.
  await db.schema.createIndex("tasks_status_created_at").on("tasks").columns(["status", "created_at", "id"]).execute();

  // `task_id` is blocked by `blocker_id`. Both ends go with their task.
  await db.schema
    .createTable("task_dependencies")
    .addColumn("task_id", "text", (c) => c.notNull().references("tasks.id").onDelete("cascade"))
    .addColumn("blocker_id", "text", (c) => c.notNull().references("tasks.id").onDelete("cascade"))
    .addColumn("position", "integer", (c) => c.notNull())
    .addPrimaryKeyConstraint("task_dependencies_pk", ["task_id", "blocker_id"])
    .addCheckConstraint("task_dependencies_not_self", sql`task_id <> blocker_id`)
    .execute();
  await db.schema.createIndex("task_dependencies_blocker").on("task_dependencies").columns(["blocker_id", "task_id"]).execute();

  // The audit log's actor may now be `system` (a lease that expired). SQLite cannot
  // change a CHECK constraint in place: the table is rebuilt with the same rows, in
  // the same order, with the same indexes and append-only triggers. No entry's text
  // changes, so every hash and signature still verifies.
  await sql`drop trigger if exists audit_log_no_update`.execute(db);
  await sql`drop trigger if exists audit_log_no_delete`.execute(db);
  await db.schema
    .createTable("audit_log_new")
    .addColumn("seq", "integer", (c) => c.primaryKey())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("actor_type", "text", (c) => c.notNull().check(sql`actor_type in ('owner', 'token', 'cli', 'system')`))
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
    .addColumn("signature", "text")
    .addColumn("channel", "text", (c) => c.check(sql`channel in ('api', 'mcp', 'web', 'cli')`))
    .execute();
  await sql`insert into audit_log_new (seq, created_at, actor_type, actor_id, actor_label, action, resource_type,
      resource_id, changes, ip, user_agent, request_id, prev_hash, hash, signature, channel)
    select seq, created_at, actor_type, actor_id, actor_label, action, resource_type,
      resource_id, changes, ip, user_agent, request_id, prev_hash, hash, signature, channel
    from audit_log order by seq`.execute(db);
  await db.schema.dropTable("audit_log").execute();
  await db.schema.alterTable("audit_log_new").renameTo("audit_log").execute();
  await createAuditIndexesAndTriggers(db);
}

async function createAuditIndexesAndTriggers(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex("audit_log_actor").on("audit_log").columns(["actor_type", "actor_id", "seq"]).execute();
  await db.schema.createIndex("audit_log_action").on("audit_log").columns(["action", "seq"]).execute();
  await db.schema.createIndex("audit_log_resource").on("audit_log").columns(["resource_type", "resource_id", "seq"]).execute();
  await db.schema.createIndex("audit_log_created_at").on("audit_log").columns(["created_at", "seq"]).execute();
  await db.schema.createIndex("audit_log_actor_type").on("audit_log").columns(["actor_type", "seq"]).execute();
  await db.schema.createIndex("audit_log_resource_type").on("audit_log").columns(["resource_type", "seq"]).execute();
  await db.schema.createIndex("audit_log_resource_id").on("audit_log").columns(["resource_id", "seq"]).execute();
  await sql`create trigger audit_log_no_update before update on audit_log
    begin select raise(abort, 'audit_log is append-only'); end`.execute(db);
  await sql`create trigger audit_log_no_delete before delete on audit_log
    begin select raise(abort, 'audit_log is append-only'); end`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("task_dependencies").execute();
  await db.schema.dropIndex("tasks_status_created_at").execute();
  await db.schema.dropIndex("tasks_lease_expires_at").execute();
  for (const column of ["lease_expires_at", "claimed_by_name", "claimed_by_id", "claimed_by_type"]) {
    await db.schema.alterTable("tasks").dropColumn(column).execute();
  }
  // The audit log keeps its wider CHECK: entries by `system` cannot be taken back out of an append-only log.
}
