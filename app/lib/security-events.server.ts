import type { SecurityEventOutcome } from "../../db/schema";
import { nowIso, type Db } from "./db.server";

/** Every kind of security event, so a typo is a type error and the filter can list them. */
export const SECURITY_EVENT_TYPES = [
  "login",
  "logout",
  "setup",
  "login_throttled",
  "csrf_blocked",
  "bearer_auth",
  "forbidden",
  "rate_limited",
  "session_revoked",
  "password_changed",
] as const;
export type SecurityEventType = (typeof SECURITY_EVENT_TYPES)[number];

export interface SecurityEventInput {
  type: SecurityEventType;
  outcome: SecurityEventOutcome;
  ip: string;
  userAgent: string;
  path: string;
  /** Non-secret details: a reason, an email, a token id. Never a password or a token. */
  details?: Record<string, unknown>;
}

/** Repeats of the same event from the same IP within this window add to one row. */
export const COALESCE_WINDOW_MS = 60_000;

/**
 * Records a security event. With `coalesce`, an identical event (type, outcome,
 * IP, path, details) from the last minute is counted on its row instead of adding
 * one, so a flood of bad requests cannot fill the disk.
 */
export async function recordSecurityEvent(
  db: Db,
  event: SecurityEventInput,
  options: { coalesce?: boolean; now?: number } = {},
): Promise<void> {
  const now = options.now ?? Date.now();
  const at = nowIso(now);
  const details = JSON.stringify(event.details ?? {});
  const userAgent = event.userAgent.slice(0, 512);
  const path = event.path.slice(0, 512);
  if (options.coalesce) {
    const updated = await db
      .updateTable("security_events")
      .set((eb) => ({ count: eb("count", "+", 1), last_at: at }))
      .where("id", "=", (eb) =>
        eb
          .selectFrom("security_events")
          .select("id")
          .where("type", "=", event.type)
          .where("outcome", "=", event.outcome)
          .where("ip", "=", event.ip)
          .where("path", "=", path)
          .where("details", "=", details)
          .where("created_at", ">=", nowIso(now - COALESCE_WINDOW_MS))
          .orderBy("id", "desc")
          .limit(1),
      )
      .executeTakeFirst();
    if (updated.numUpdatedRows > 0n) return;
  }
  await db
    .insertInto("security_events")
    .values({
      created_at: at,
      last_at: at,
      count: 1,
      type: event.type,
      outcome: event.outcome,
      ip: event.ip,
      user_agent: userAgent,
      path,
      details,
    })
    .execute();
}
