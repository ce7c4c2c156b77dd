import { sql, type Kysely } from "kysely";

// Frozen in time: never import app code here, never edit after it has shipped.

// OAuth 2.1 for MCP clients (contract §9): dynamically registered public clients,
// the owner's grants (one per consent), single-use authorization codes, and the
// access and refresh tokens of each grant. Codes and tokens are stored only as
// their SHA-256 (hex), like `preq_` tokens.
export async function up(db: Kysely<any>): Promise<void> {
  // A registered client (RFC 7591). `redirect_uris` is a JSON array of strings.
  // `last_used_at` moves when the client is sent to the consent page or uses its
  // tokens; a client unused for 30 days with no live grant is deleted.
  await db.schema
    .createTable("oauth_clients")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("client_name", "text", (c) => c.notNull())
    .addColumn("redirect_uris", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("created_ip", "text", (c) => c.notNull())
    .addColumn("last_used_at", "text")
    .execute();
  await db.schema.createIndex("oauth_clients_created_at").on("oauth_clients").column("created_at").execute();

  // What the owner allowed one client: the scope, the redirect URI it was given,
  // and whether it has been revoked (by the owner, a client, or reuse detection).
  await db.schema
    .createTable("oauth_grants")
    .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
    .addColumn("owner_id", "text", (c) => c.notNull().references("owners.id").onDelete("cascade"))
    .addColumn("client_id", "text", (c) => c.notNull())
    .addColumn("client_name", "text", (c) => c.notNull())
    .addColumn("redirect_uri", "text", (c) => c.notNull())
    .addColumn("scope", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("last_used_at", "text")
    .addColumn("last_used_ip", "text")
    .addColumn("revoked_at", "text")
    .addColumn("revoked_reason", "text")
    .execute();
  await db.schema.createIndex("oauth_grants_client_id").on("oauth_grants").column("client_id").execute();

  // Authorization codes: 60 s, single use (`used_at` set by one conditional update).
  await db.schema
    .createTable("oauth_codes")
    .addColumn("code_hash", "text", (c) => c.primaryKey())
    .addColumn("grant_id", "integer", (c) => c.notNull().references("oauth_grants.id").onDelete("cascade"))
    .addColumn("client_id", "text", (c) => c.notNull())
    .addColumn("redirect_uri", "text", (c) => c.notNull())
    .addColumn("code_challenge", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addColumn("used_at", "text")
    .execute();

  // Access (1 h) and refresh (30 days) tokens. A refresh token is spent (`used_at`)
  // when it is rotated; presenting a spent one revokes the whole grant.
  await db.schema
    .createTable("oauth_tokens")
    .addColumn("token_hash", "text", (c) => c.primaryKey())
    .addColumn("grant_id", "integer", (c) => c.notNull().references("oauth_grants.id").onDelete("cascade"))
    .addColumn("kind", "text", (c) => c.notNull().check(sql`kind in ('access', 'refresh')`))
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addColumn("used_at", "text")
    .execute();
  await db.schema.createIndex("oauth_tokens_grant_id").on("oauth_tokens").column("grant_id").execute();
  await db.schema.createIndex("oauth_tokens_expires_at").on("oauth_tokens").column("expires_at").execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("oauth_tokens").execute();
  await db.schema.dropTable("oauth_codes").execute();
  await db.schema.dropTable("oauth_grants").execute();
  await db.schema.dropTable("oauth_clients").execute();
}
