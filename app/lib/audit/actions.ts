/**
 * Every action the audit log records. `appendAudit` takes only these, so a typo is a
 * type error, and the console's filter suggests exactly what can be written.
 */
export const AUDIT_ACTIONS = [
  "task.create",
  "task.update",
  "task.status",
  "task.delete",
  "task.claim",
  "task.release",
  "task.lease_expired",
  "task.dependencies",
  "task.note",
  "comment.create",
  "comment.reply",
  "comment.state",
  "project.create",
  "project.update",
  "api_token.create",
  "api_token.revoke",
  "session.revoke",
  "session.revoke_others",
  "owner.password_change",
  "owner.password_reset",
  "owner.2fa_enable",
  "owner.2fa_disable",
  "owner.recovery_codes_regenerate",
  "owner.passkey_add",
  "owner.passkey_remove",
  "owner.2fa_reset",
  "oauth.client_register",
  "oauth.grant",
  "oauth.revoke",
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** The resource types those actions name. */
export const AUDIT_RESOURCE_TYPES = [
  "task",
  "project",
  "comment",
  "api_token",
  "session",
  "owner",
  "passkey",
  "oauth_client",
  "oauth_grant",
] as const;
export type AuditResourceType = (typeof AUDIT_RESOURCE_TYPES)[number];

/**
 * One committed change, as its audit entry names it: what the command runner
 * (app/lib/command) publishes after its transaction commits, to the live pages today
 * and to the webhook outbox and PostgreSQL notifications later.
 */
export interface Change {
  action: AuditAction;
  resourceType: AuditResourceType;
  resourceId: string;
  /** The audit entry's sequence number: a stable id for the change. */
  seq: number;
}

/** Hears about committed changes. */
export interface ChangePublisher {
  publish(changes: readonly Change[]): void;
}
