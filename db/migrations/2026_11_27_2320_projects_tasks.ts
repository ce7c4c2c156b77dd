import { type Kysely, sql } from "kysely";

// Frozen in time: never import app code here, never edit after it has shipped.

export async function up(db: Kysely<any>): Promise<void> {
  // Projects. `project_key` is immutable; `next_task_number` hands out task numbers
  // and only ever grows, so a deleted task's key is never given out again.
  // `repo_key` is the comparison form of `repo_url` (lower-case `owner/repo` for GitHub).
  await db.schema
    .createTable("projects")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("project_key", "text", (c) =>
      c
        .notNull()
        .unique()
        .check(sql`project_key glob '[A-Z0-9][A-Z0-9]*' and length(project_key) between 2 and 10`),
    )
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("description", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("repo_url", "text")
    .addColumn("repo_key", "text")
    .addColumn("settings", "text", (c) => c.notNull().defaultTo("{}"))
    .addColumn("next_task_number", "integer", (c) =>
      c
        .notNull()
        .defaultTo(1)
        .check(sql`next_task_number >= 1`),
    )
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("projects_repo_key").on("projects").column("repo_key").execute();

  await db.schema
    .createTable("tasks")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("task_key", "text", (c) => c.notNull().unique())
    .addColumn("project_id", "text", (c) => c.notNull().references("projects.id").onDelete("restrict"))
    .addColumn("number", "integer", (c) => c.notNull())
    .addColumn("title", "text", (c) => c.notNull())
    .addColumn("description", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("status", "text", (c) => c.notNull().check(sql`status in ('inbox', 'todo', 'hold', 'ready', 'done', 'archived')`))
    .addColumn("priority", "text", (c) =>
      c.notNull().check(sql`priority in ('highest', 'high', 'medium', 'low', 'lowest', 'none')`),
    )
    .addColumn("acceptance_criteria", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("plan_markdown", "text")
    .addColumn("engine", "text")
    .addColumn("branch", "text")
    .addColumn("run_state", "text", (c) => c.check(sql`run_state in ('queued', 'working')`))
    .addColumn("run_state_updated_at", "text")
    .addColumn("result", "text")
    .addColumn("version", "integer", (c) => c.notNull().defaultTo(1))
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addColumn("archived_at", "text")
    .addUniqueConstraint("tasks_project_number", ["project_id", "number"])
    .execute();
  // The keyset order (updated_at desc, id desc), alone and behind each equality filter.
  await db.schema.createIndex("tasks_order").on("tasks").columns(["updated_at", "id"]).execute();
  for (const column of ["project_id", "status", "priority", "engine", "run_state"]) {
    await db.schema.createIndex(`tasks_${column}_order`).on("tasks").columns([column, "updated_at", "id"]).execute();
  }

  // Labels belong to a project; `name_key` (the lower-cased name) makes them unique case-insensitively.
  await db.schema
    .createTable("labels")
    .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
    .addColumn("project_id", "text", (c) => c.notNull().references("projects.id").onDelete("cascade"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("name_key", "text", (c) => c.notNull())
    .addColumn("color", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addUniqueConstraint("labels_project_name", ["project_id", "name_key"])
    .execute();
  await db.schema.createIndex("labels_name_key").on("labels").column("name_key").execute();

  await db.schema
    .createTable("task_labels")
    .addColumn("task_id", "text", (c) => c.notNull().references("tasks.id").onDelete("cascade"))
    .addColumn("label_id", "integer", (c) => c.notNull().references("labels.id").onDelete("cascade"))
    .addColumn("position", "integer", (c) => c.notNull())
    .addPrimaryKeyConstraint("task_labels_pk", ["task_id", "label_id"])
    .execute();
  await db.schema.createIndex("task_labels_label").on("task_labels").columns(["label_id", "task_id"]).execute();

  // Idempotency records: the first response to (token, key), replayed for 24 h.
  await db.schema
    .createTable("idempotency_keys")
    .addColumn("token_id", "integer", (c) => c.notNull())
    .addColumn("key", "text", (c) => c.notNull())
    .addColumn("request_hash", "text", (c) => c.notNull())
    .addColumn("status", "integer", (c) => c.notNull())
    .addColumn("headers", "text", (c) => c.notNull())
    .addColumn("body", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("idempotency_keys_pk", ["token_id", "key"])
    .execute();
  await db.schema.createIndex("idempotency_keys_expires_at").on("idempotency_keys").column("expires_at").execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("idempotency_keys").execute();
  await db.schema.dropTable("task_labels").execute();
  await db.schema.dropTable("labels").execute();
  await db.schema.dropTable("tasks").execute();
  await db.schema.dropTable("projects").execute();
}
