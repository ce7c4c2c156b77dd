import { sql, type Kysely } from "kysely";

// Frozen in time: never import app code here, never edit after it has shipped.

// The owner's second factors (TOTP with recovery codes, passkeys), the sign-in
// challenge between password and code, the WebAuthn ceremonies' pending challenges,
// and each session's last re-authentication (sudo mode). Secrets are stored sealed
// (AES-256-GCM under the data key, which lives outside the database) or hashed.
export async function up(db: Kysely<any>): Promise<void> {
  // TOTP once enabled: one row per owner. `last_used_step` is the replay guard: a
  // code for that 30-second step or an earlier one is refused.
  await db.schema
    .createTable("owner_totp")
    .addColumn("owner_id", "text", (c) => c.primaryKey().references("owners.id").onDelete("cascade"))
    .addColumn("secret_sealed", "text", (c) => c.notNull())
    .addColumn("enabled_at", "text", (c) => c.notNull())
    .addColumn("last_used_step", "integer")
    .execute();

  // An enrolment started but not yet confirmed with a code: the new secret stays on
  // the server (sealed) until then, one at a time per owner.
  await db.schema
    .createTable("totp_enrolments")
    .addColumn("owner_id", "text", (c) => c.primaryKey().references("owners.id").onDelete("cascade"))
    .addColumn("secret_sealed", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .execute();

  // Recovery codes, stored only as a keyed hash (HMAC-SHA256 under the data key).
  await db.schema
    .createTable("recovery_codes")
    .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
    .addColumn("owner_id", "text", (c) => c.notNull().references("owners.id").onDelete("cascade"))
    .addColumn("code_hash", "text", (c) => c.notNull().unique())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("used_at", "text")
    .execute();
  await db.schema.createIndex("recovery_codes_owner_id").on("recovery_codes").column("owner_id").execute();

  // The step between a correct password and the second factor. Only the SHA-256 of
  // the cookie's random id is stored; it is a different table from sessions, so a
  // challenge id can never be looked up as a session.
  await db.schema
    .createTable("login_challenges")
    .addColumn("id_hash", "text", (c) => c.primaryKey())
    .addColumn("owner_id", "text", (c) => c.notNull().references("owners.id").onDelete("cascade"))
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addColumn("failures", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("consumed_at", "text")
    .execute();
  await db.schema.createIndex("login_challenges_expires_at").on("login_challenges").column("expires_at").execute();

  // WebAuthn credentials (passkeys).
  await db.schema
    .createTable("passkeys")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("owner_id", "text", (c) => c.notNull().references("owners.id").onDelete("cascade"))
    .addColumn("credential_id", "text", (c) => c.notNull().unique())
    .addColumn("public_key", "text", (c) => c.notNull())
    .addColumn("counter", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("transports", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("aaguid", "text", (c) => c.notNull())
    .addColumn("device_type", "text", (c) => c.notNull().check(sql`device_type in ('singleDevice', 'multiDevice')`))
    .addColumn("backed_up", "integer", (c) => c.notNull().check(sql`backed_up in (0, 1)`))
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("last_used_at", "text")
    .execute();
  await db.schema.createIndex("passkeys_owner_id").on("passkeys").column("owner_id").execute();

  // A WebAuthn ceremony in progress: the challenge the browser must sign, found by
  // the SHA-256 of a random id the browser holds; single use, short-lived.
  await db.schema
    .createTable("webauthn_challenges")
    .addColumn("id_hash", "text", (c) => c.primaryKey())
    .addColumn("purpose", "text", (c) => c.notNull().check(sql`purpose in ('registration', 'authentication')`))
    .addColumn("owner_id", "text", (c) => c.references("owners.id").onDelete("cascade"))
    .addColumn("challenge", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("webauthn_challenges_purpose_created")
    .on("webauthn_challenges")
    .columns(["purpose", "created_at"])
    .execute();

  // Sudo mode: when this session last proved the password (+ second factor) again.
  // NULL means "not since sign-in": the session's created_at is its sign-in time.
  await db.schema.alterTable("sessions").addColumn("reauthenticated_at", "text").execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("sessions").dropColumn("reauthenticated_at").execute();
  await db.schema.dropTable("webauthn_challenges").execute();
  await db.schema.dropTable("passkeys").execute();
  await db.schema.dropTable("login_challenges").execute();
  await db.schema.dropTable("recovery_codes").execute();
  await db.schema.dropTable("totp_enrolments").execute();
  await db.schema.dropTable("owner_totp").execute();
}
