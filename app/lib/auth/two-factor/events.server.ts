import type { SecurityEventOutcome } from "../../../../db/schema";
import type { Db } from "../../db.server";
import { recordSecurityEvent, type SecurityEventType } from "../../security/events.server";

/**
 * Where a second-factor attempt came from, for its security event: the client IP as
 * the server decided it, the user agent and the path. A request context has these.
 */
export interface EventSource {
  ip: string;
  userAgent: string;
  path: string;
}

export function recordTwoFactorEvent(
  db: Db,
  source: EventSource,
  event: { type: SecurityEventType; outcome: SecurityEventOutcome; details?: Record<string, unknown> },
  options: { coalesce?: boolean; now?: number } = {},
): Promise<void> {
  return recordSecurityEvent(db, { ...event, ip: source.ip, userAgent: source.userAgent, path: source.path }, options);
}
