import type { Generated, Insertable, Selectable, Updateable } from "kysely";

/** The database, table by table. App code uses the aliases at the bottom. */
export interface Database {
  owners: OwnersTable;
  sessions: SessionsTable;
  security_events: SecurityEventsTable;
  api_tokens: ApiTokensTable;
  audit_log: AuditLogTable;
  audit_seal: AuditSealTable;
  projects: ProjectsTable;
  tasks: TasksTable;
  labels: LabelsTable;
  task_labels: TaskLabelsTable;
  idempotency_keys: IdempotencyKeysTable;
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

/*
 * The values of each enumerated column, defined once: the types below, the domain's
 * zod enums and the console's filter options all derive from these arrays (db/ may
 * not import app/, so the one source lives here). The migrations' CHECK constraints
 * list the same values.
 */
export const SECURITY_EVENT_OUTCOMES = ["success", "failure", "blocked"] as const;
export type SecurityEventOutcome = (typeof SECURITY_EVENT_OUTCOMES)[number];

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

export const TOKEN_SCOPES = ["full", "read"] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

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

export const AUDIT_ACTOR_TYPES = ["owner", "token", "cli"] as const;
export type AuditActorType = (typeof AUDIT_ACTOR_TYPES)[number];
/** Through which door a change came; NULL on entries written before channels were recorded. */
export const AUDIT_CHANNELS = ["api", "mcp", "web", "cli"] as const;
export type AuditChannel = (typeof AUDIT_CHANNELS)[number];

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
  channel: AuditChannel | null;
  prev_hash: string;
  hash: string;
  /**
   * Ed25519 signature of (seq, hash), base64url, by the key outside the database.
   * Null only for entries written before signing began (covered by `audit_seal`).
   */
  signature: string | null;
}

/**
 * One row: the newest entry written before audit signing began (`seq`, 0 if none)
 * and, once the first start with the key has sealed it, the signature of its hash.
 */
export interface AuditSealTable {
  id: number;
  seq: number;
  signature: string | null;
  sealed_at: Timestamp | null;
}

export interface ProjectsTable {
  id: string;
  project_key: string;
  name: string;
  description: string;
  repo_url: string | null;
  /** Comparison form of repo_url: lower-case `owner/repo` for GitHub. */
  repo_key: string | null;
  /** JSON object of string settings; absent keys take their defaults. */
  settings: string;
  next_task_number: number;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export const TASK_STATUSES = ["inbox", "todo", "hold", "ready", "done", "archived"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const TASK_PRIORITIES = ["highest", "high", "medium", "low", "lowest", "none"] as const;
export type TaskPriority = (typeof TASK_PRIORITIES)[number];
export const RUN_STATES = ["queued", "working"] as const;
export type RunState = (typeof RUN_STATES)[number];

export interface TasksTable {
  id: string;
  task_key: string;
  project_id: string;
  number: number;
  title: string;
  description: string;
  status: TaskStatus;
  priority: TaskPriority;
  /** JSON array of strings. */
  acceptance_criteria: string;
  plan_markdown: string | null;
  engine: string | null;
  branch: string | null;
  run_state: RunState | null;
  run_state_updated_at: Timestamp | null;
  /** JSON object, or null. */
  result: string | null;
  version: number;
  created_at: Timestamp;
  updated_at: Timestamp;
  archived_at: Timestamp | null;
}

export interface LabelsTable {
  id: Generated<number>;
  project_id: string;
  name: string;
  name_key: string;
  color: string;
  created_at: Timestamp;
}

export interface TaskLabelsTable {
  task_id: string;
  label_id: number;
  position: number;
}

export interface IdempotencyKeysTable {
  token_id: number;
  key: string;
  request_hash: string;
  status: number;
  /** JSON object of the replayed response headers. */
  headers: string;
  body: string;
  created_at: Timestamp;
  expires_at: Timestamp;
}

export type Owner = Selectable<OwnersTable>;
export type NewOwner = Insertable<OwnersTable>;
export type Session = Selectable<SessionsTable>;
export type SecurityEvent = Selectable<SecurityEventsTable>;
export type ApiToken = Selectable<ApiTokensTable>;
export type ApiTokenUpdate = Updateable<ApiTokensTable>;
export type NewApiToken = Insertable<ApiTokensTable>;
export type AuditEntry = Selectable<AuditLogTable>;
export type AuditSeal = Selectable<AuditSealTable>;
export type ProjectRow = Selectable<ProjectsTable>;
export type TaskRow = Selectable<TasksTable>;
export type LabelRow = Selectable<LabelsTable>;
export type IdempotencyRecord = Selectable<IdempotencyKeysTable>;
