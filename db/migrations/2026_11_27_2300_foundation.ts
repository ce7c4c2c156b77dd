import { type Kysely, sql } from "kysely";

// Frozen in time: never import app code here, never edit after it has shipped.

export async function up(db: Kysely<any>): Promise<void> {
  // The single owner. `singleton` is always 1 and unique, so the database itself
  // refuses a second owner whatever the application does, even under a race.
  await db.schema
    .createTable("owners")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("singleton", "integer", (c) =>
      c
        .notNull()
        .defaultTo(1)
        .unique()
        .check(sql`singleton = 1`),
    )
    .addColumn("email", "text", (c) => c.notNull())
    .addColumn("password_hash", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();

  // Browser sessions. Only the SHA-256 of the cookie's random id is stored.
  await db.schema
    .createTable("sessions")
    .addColumn("id_hash", "text", (c) => c.primaryKey())
    .addColumn("public_id", "text", (c) => c.notNull().unique())
    .addColumn("owner_id", "text", (c) => c.notNull().references("owners.id").onDelete("cascade"))
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("last_seen_at", "text", (c) => c.notNull())
    .addColumn("idle_expires_at", "text", (c) => c.notNull())
    .addColumn("absolute_expires_at", "text", (c) => c.notNull())
    .addColumn("ip", "text", (c) => c.notNull())
    .addColumn("user_agent", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("sessions_owner_id").on("sessions").column("owner_id").execute();

  // What happened at the door: sign-ins, refusals, throttling, CSRF blocks.
  // Repeats from one source may be coalesced into one row (`count`, `last_at`).
  await db.schema
    .createTable("security_events")
    .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("last_at", "text", (c) => c.notNull())
    .addColumn("count", "integer", (c) => c.notNull().defaultTo(1))
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("outcome", "text", (c) => c.notNull().check(sql`outcome in ('success', 'failure', 'blocked')`))
    .addColumn("ip", "text", (c) => c.notNull())
    .addColumn("user_agent", "text", (c) => c.notNull())
    .addColumn("path", "text", (c) => c.notNull())
    .addColumn("details", "text", (c) => c.notNull().defaultTo("{}"))
    .execute();
  await db.schema.createIndex("security_events_order").on("security_events").columns(["created_at", "id"]).execute();
  await db.schema.createIndex("security_events_type").on("security_events").columns(["type", "created_at", "id"]).execute();
  await db.schema.createIndex("security_events_outcome").on("security_events").columns(["outcome", "created_at", "id"]).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("security_events").execute();
  await db.schema.dropTable("sessions").execute();
  await db.schema.dropTable("owners").execute();
}
