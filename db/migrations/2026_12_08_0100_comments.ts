import { sql, type Kysely } from "kysely";

// Frozen in time: never import app code here, never edit after it has shipped.

// Talking with agents on a task (contract §10): comments with one level of replies,
// each with its author and (for the owner's questions) its run state; and the
// agent's working note and artifacts on the task itself.
export async function up(db: Kysely<any>): Promise<void> {
  // A comment on a task, or a reply (parent_id) to a top-level comment of the same
  // task. The author is the owner, or a token / OAuth client by id and the name
  // shown (kept as it was when the comment was written). run_state is null for a
  // comment nobody is asked to act on (an agent's, a reply).
  await db.schema
    .createTable("task_comments")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("task_id", "text", (c) => c.notNull().references("tasks.id").onDelete("cascade"))
    .addColumn("parent_id", "text", (c) => c.references("task_comments.id").onDelete("cascade"))
    .addColumn("body", "text", (c) => c.notNull())
    .addColumn("author_type", "text", (c) => c.notNull().check(sql`author_type in ('owner', 'token', 'oauth')`))
    .addColumn("author_id", "text", (c) => c.notNull())
    .addColumn("author_name", "text", (c) => c.notNull())
    .addColumn("run_state", "text", (c) => c.check(sql`run_state in ('queued', 'working', 'done', 'failed')`))
    .addColumn("error_message", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();
  // A task's thread, oldest first; a comment's replies, oldest first.
  await db.schema.createIndex("task_comments_task").on("task_comments").columns(["task_id", "created_at", "id"]).execute();
  await db.schema.createIndex("task_comments_parent").on("task_comments").columns(["parent_id", "created_at", "id"]).execute();

  // The agent's working note (Markdown) and its artifacts (a JSON array of {type, title, url}).
  await db.schema
    .alterTable("tasks")
    .addColumn("note_markdown", "text", (c) => c.notNull().defaultTo(""))
    .execute();
  await db.schema
    .alterTable("tasks")
    .addColumn("artifacts", "text", (c) => c.notNull().defaultTo("[]"))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("tasks").dropColumn("artifacts").execute();
  await db.schema.alterTable("tasks").dropColumn("note_markdown").execute();
  await db.schema.dropTable("task_comments").execute();
}
