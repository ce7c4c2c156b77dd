import type { Generated, Insertable, Selectable, Updateable } from "kysely";

/** The database, table by table. App code uses the aliases at the bottom. */
export interface Database {
  owners: OwnersTable;
  sessions: SessionsTable;
  security_events: SecurityEventsTable;
  api_tokens: ApiTokensTable;
  audit_log: AuditLogTable;
}

/** All times are ISO 8601 UTC strings with milliseconds (`2026-11-27T23:00:00.000Z`). */
type Timestamp = string;

export interface OwnersTable {
  id: string;
  singleton: number;
  email: string;
  password_hash: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SessionsTable {
  id_hash: string;
  public_id: string;
  owner_id: string;
  created_at: Timestamp;
  last_seen_at: Timestamp;
  idle_expires_at: Timestamp;
  absolute_expires_at: Timestamp;
  ip: string;
  user_agent: string;
}

export type SecurityEventOutcome = "success" | "failure" | "blocked";

export interface SecurityEventsTable {
  id: Generated<number>;
  created_at: Timestamp;
  last_at: Timestamp;
  count: number;
  type: string;
  outcome: SecurityEventOutcome;
  ip: string;
  user_agent: string;
  path: string;
  details: string;
}

export type TokenScope = "full" | "read";

export interface ApiTokensTable {
  id: Generated<number>;
  owner_id: string;
  name: string;
  token_hash: string;
  hint: string;
  scope: TokenScope;
  created_at: Timestamp;
  expires_at: Timestamp | null;
  revoked_at: Timestamp | null;
  last_used_at: Timestamp | null;
  last_used_ip: string | null;
}

export type AuditActorType = "owner" | "token" | "cli";

export interface AuditLogTable {
  seq: number;
  created_at: Timestamp;
  actor_type: AuditActorType;
  actor_id: string;
  actor_label: string;
  action: string;
  resource_type: string;
  resource_id: string;
  /** JSON: `{ field: { before, after } }`. */
  changes: string;
  ip: string;
  user_agent: string;
  request_id: string;
  prev_hash: string;
  hash: string;
}

export type Owner = Selectable<OwnersTable>;
export type NewOwner = Insertable<OwnersTable>;
export type Session = Selectable<SessionsTable>;
export type SecurityEvent = Selectable<SecurityEventsTable>;
export type ApiToken = Selectable<ApiTokensTable>;
export type ApiTokenUpdate = Updateable<ApiTokensTable>;
export type NewApiToken = Insertable<ApiTokensTable>;
export type AuditEntry = Selectable<AuditLogTable>;
