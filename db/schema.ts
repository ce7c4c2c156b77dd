import type { ColumnType, Generated, Insertable, Selectable, Updateable } from "kysely";

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
  task_dependencies: TaskDependenciesTable;
  task_comments: TaskCommentsTable;
  idempotency_keys: IdempotencyKeysTable;
  owner_totp: OwnerTotpTable;
  totp_enrolments: TotpEnrolmentsTable;
  recovery_codes: RecoveryCodesTable;
  login_challenges: LoginChallengesTable;
  passkeys: PasskeysTable;
  webauthn_challenges: WebauthnChallengesTable;
  oauth_clients: OAuthClientsTable;
  oauth_grants: OAuthGrantsTable;
  oauth_codes: OAuthCodesTable;
  oauth_tokens: OAuthTokensTable;
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
  /** When this session last passed `/sudo`; null means not since sign-in, which is `created_at`. */
  reauthenticated_at: ColumnType<Timestamp | null, Timestamp | null | undefined, Timestamp | null>;
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

export const AUDIT_ACTOR_TYPES = ["owner", "token", "cli", "system"] as const;
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
  /** Why the task is on hold (set by the block action, cleared when it leaves hold), or null. */
  block_reason: string | null;
  version: number;
  created_at: Timestamp;
  updated_at: Timestamp;
  archived_at: Timestamp | null;
  /** The claim (contract §11): who holds the task, all null when free. A lease past its expiry is free. */
  claimed_by_type: ClaimantType | null;
  claimed_by_id: string | null;
  claimed_by_name: string | null;
  lease_expires_at: Timestamp | null;
  /** The agent's working note (contract §10), Markdown; '' when there is none. */
  note_markdown: ColumnType<string, string | undefined, string>;
  /** The agent's artifacts: JSON array of {type, title, url}; '[]' when there are none. */
  artifacts: ColumnType<string, string | undefined, string>;
}

/** Who may hold a claim: a token or an OAuth grant. */
export const CLAIMANT_TYPES = ["token", "oauth"] as const;
export type ClaimantType = (typeof CLAIMANT_TYPES)[number];

/** Who wrote a comment: the owner, a token, or an OAuth client (by its grant). */
export const COMMENT_AUTHOR_TYPES = ["owner", "token", "oauth"] as const;
export type CommentAuthorType = (typeof COMMENT_AUTHOR_TYPES)[number];
/** Where the work a comment asks for stands; null when it asks for none (an agent's comment, a reply). */
export const COMMENT_RUN_STATES = ["queued", "working", "done", "failed"] as const;
export type CommentRunState = (typeof COMMENT_RUN_STATES)[number];

/** A comment on a task (contract §10), or a reply (`parent_id`) to a top-level comment of the same task. */
export interface TaskCommentsTable {
  id: string;
  task_id: string;
  parent_id: string | null;
  body: string;
  author_type: CommentAuthorType;
  /** The owner's id, the token's id, or `oauth:<grant id>`. */
  author_id: string;
  /** The name shown: the owner's email, the token's name, the OAuth client's name (as it was when written). */
  author_name: string;
  run_state: CommentRunState | null;
  error_message: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** `task_id` is blocked by `blocker_id`; `position` keeps the order the client gave. */
export interface TaskDependenciesTable {
  task_id: string;
  blocker_id: string;
  position: number;
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

/** TOTP once enabled. The secret is sealed (AES-256-GCM under the data key). */
export interface OwnerTotpTable {
  owner_id: string;
  secret_sealed: string;
  enabled_at: Timestamp;
  /** The newest 30-second step whose code was accepted; that step and earlier ones are refused. */
  last_used_step: number | null;
}

/** A TOTP enrolment waiting for its first code; the pending secret is sealed. */
export interface TotpEnrolmentsTable {
  owner_id: string;
  secret_sealed: string;
  /** The id hash of the session that started it: only that session sees the secret again or confirms it. */
  session_id_hash: string | null;
  created_at: Timestamp;
  expires_at: Timestamp;
}

export interface RecoveryCodesTable {
  id: Generated<number>;
  owner_id: string;
  /** HMAC-SHA256 (hex) under the data key; the code itself is shown once and never stored. */
  code_hash: string;
  created_at: Timestamp;
  used_at: Timestamp | null;
}

/** The step between a correct password and the second factor; never a session. */
export interface LoginChallengesTable {
  /** SHA-256 of the `login_challenge` cookie's random id. */
  id_hash: string;
  owner_id: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  failures: number;
  consumed_at: Timestamp | null;
}

export type PasskeyDeviceType = "singleDevice" | "multiDevice";

export interface PasskeysTable {
  /** Public id for pages (random), not the credential id. */
  id: string;
  owner_id: string;
  /** The WebAuthn credential id, base64url. */
  credential_id: string;
  /** COSE public key, base64url. */
  public_key: string;
  /** The authenticator's signature counter as last seen (0 when it keeps none). */
  counter: number;
  /** JSON array of transport hints. */
  transports: string;
  name: string;
  aaguid: string;
  device_type: PasskeyDeviceType;
  backed_up: number;
  created_at: Timestamp;
  last_used_at: Timestamp | null;
}

export type WebauthnPurpose = "registration" | "authentication";

export interface WebauthnChallengesTable {
  /** SHA-256 of the random id the browser holds for this ceremony. */
  id_hash: string;
  purpose: WebauthnPurpose;
  /** The owner registering a passkey; null for a sign-in (discoverable: anyone until it verifies). */
  owner_id: string | null;
  /** The challenge the authenticator signs, base64url. */
  challenge: string;
  created_at: Timestamp;
  expires_at: Timestamp;
}

/** A dynamically registered OAuth client (RFC 7591): public, no secret. */
export interface OAuthClientsTable {
  /** The `client_id`: random, never reused. */
  id: string;
  client_name: string;
  /** JSON array of the registered redirect URIs. */
  redirect_uris: string;
  created_at: Timestamp;
  created_ip: string;
  last_used_at: Timestamp | null;
}

/** One consent: what the owner allowed one client. */
export interface OAuthGrantsTable {
  id: Generated<number>;
  owner_id: string;
  client_id: string;
  client_name: string;
  redirect_uri: string;
  /** Space-separated: `tasks:read` or `tasks:read tasks:write`. */
  scope: string;
  created_at: Timestamp;
  last_used_at: Timestamp | null;
  last_used_ip: string | null;
  revoked_at: Timestamp | null;
  revoked_reason: string | null;
}

export interface OAuthCodesTable {
  /** SHA-256 (hex) of the code. */
  code_hash: string;
  grant_id: number;
  client_id: string;
  redirect_uri: string;
  /** The PKCE S256 challenge (base64url). */
  code_challenge: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
}

export const OAUTH_TOKEN_KINDS = ["access", "refresh"] as const;
export type OAuthTokenKind = (typeof OAUTH_TOKEN_KINDS)[number];

export interface OAuthTokensTable {
  /** SHA-256 (hex) of the token. */
  token_hash: string;
  grant_id: number;
  kind: OAuthTokenKind;
  created_at: Timestamp;
  expires_at: Timestamp;
  /** A refresh token's rotation; a spent one presented again revokes the grant. */
  used_at: Timestamp | null;
}

export type Owner = Selectable<OwnersTable>;
export type NewOwner = Insertable<OwnersTable>;
/**
 * A session row. `reauthenticated_at` may be absent on a row built in code before it is
 * stored (the column defaults to NULL): the sign-in time, `created_at`, stands for it.
 */
export type Session = Omit<Selectable<SessionsTable>, "reauthenticated_at"> &
  Partial<Pick<Selectable<SessionsTable>, "reauthenticated_at">>;
export type SecurityEvent = Selectable<SecurityEventsTable>;
export type ApiToken = Selectable<ApiTokensTable>;
export type ApiTokenUpdate = Updateable<ApiTokensTable>;
export type NewApiToken = Insertable<ApiTokensTable>;
export type AuditEntry = Selectable<AuditLogTable>;
export type AuditSeal = Selectable<AuditSealTable>;
export type ProjectRow = Selectable<ProjectsTable>;
export type TaskRow = Selectable<TasksTable>;
export type TaskCommentRow = Selectable<TaskCommentsTable>;
export type LabelRow = Selectable<LabelsTable>;
export type IdempotencyRecord = Selectable<IdempotencyKeysTable>;
export type OwnerTotp = Selectable<OwnerTotpTable>;
export type RecoveryCodeRow = Selectable<RecoveryCodesTable>;
export type LoginChallengeRow = Selectable<LoginChallengesTable>;
export type PasskeyRow = Selectable<PasskeysTable>;
export type WebauthnChallengeRow = Selectable<WebauthnChallengesTable>;
export type OAuthClientRow = Selectable<OAuthClientsTable>;
export type OAuthGrantRow = Selectable<OAuthGrantsTable>;
