import { sql } from "kysely";
import type { SecurityEventOutcome } from "../../../db/schema";
import { nowIso, type Db } from "../db.server";
import type { RequestContext } from "../domain/context";
import { throttleKey } from "./rate-limit.server";

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
  "second_factor",
  "recovery_code_used",
  "passkey",
  "sudo_granted",
  "sudo_failed",
  "oauth",
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

/** Repeats of one type of event from one client (IP, or IPv6 /64) within this window add to one row. */
export const COALESCE_WINDOW_MS = 60_000;

/**
 * The global budget for anonymous (coalesced) events: at most `rows` rows are
 * created per sliding `windowMs`, counting every row created in that time. Past
 * it, further anonymous events are counted on one overflow row per type and
 * outcome (IP `*`) for the rest of the window, so clients rotating addresses
 * cannot add rows either.
 */
export const ANONYMOUS_EVENT_BUDGET = { rows: 30, windowMs: 60 * 60_000 } as const;

/** The longest time a coalesced row keeps counting after its `created_at` (the overflow row's). */
export const MAX_COALESCE_SPAN_MS = Math.max(COALESCE_WINDOW_MS, ANONYMOUS_EVENT_BUDGET.windowMs);

/** The most characters stored of the path, the user agent and each text value in the details. */
export const MAX_EVENT_TEXT = 256;
/** The most characters of details JSON stored for one event. */
export const MAX_EVENT_DETAILS = 1024;

/** The IP recorded on an overflow row: the events it counts came from many clients. */
export const OVERFLOW_IP = "*";

/**
 * Records a security event. Text is capped (path, user agent, each detail value:
 * 256 characters), so no one event can be large.
 *
 * With `coalesce` (anything an anonymous client can cause), an event of the same
 * type, outcome and reason (`details.reason`) from the same client (IP, or IPv6 /64)
 * within the last minute is counted on that row instead of adding one, whatever its
 * path, origin, user agent or other details; the row keeps the first event's. New rows for such events also draw on a global
 * budget (ANONYMOUS_EVENT_BUDGET); once it is spent, events are counted on an
 * overflow row instead. So a flood, from one address or many, adds a bounded
 * number of small rows, and its size stays visible in the counts.
 */
export async function recordSecurityEvent(
  db: Db,
  event: SecurityEventInput,
  options: { coalesce?: boolean; now?: number } = {},
): Promise<void> {
  const now = options.now ?? Date.now();
  const at = nowIso(now);
  const row = {
    created_at: at,
    last_at: at,
    count: 1,
    type: event.type,
    outcome: event.outcome,
    ip: event.ip,
    user_agent: event.userAgent.slice(0, MAX_EVENT_TEXT),
    path: event.path.slice(0, MAX_EVENT_TEXT),
    details: boundedDetails(event.details),
  };
  if (!options.coalesce) {
    await db.insertInto("security_events").values(row).execute();
    return;
  }

  // One client: an IPv4 address, or an IPv6 /64 (one subscriber holds a whole /64).
  const client = throttleKey(event.ip);
  const reason = typeof event.details?.reason === "string" ? event.details.reason.slice(0, MAX_EVENT_TEXT) : null;
  if (await countOnRecentRow(db, event, { ip: client, reason }, now - COALESCE_WINDOW_MS, at)) return;

  const since = nowIso(now - ANONYMOUS_EVENT_BUDGET.windowMs);
  const inserted = await sql`
    insert into security_events (created_at, last_at, count, type, outcome, ip, user_agent, path, details)
    select ${row.created_at}, ${row.last_at}, 1, ${row.type}, ${row.outcome}, ${client}, ${row.user_agent}, ${row.path}, ${row.details}
    where (select count(*) from security_events where created_at >= ${since}) < ${ANONYMOUS_EVENT_BUDGET.rows}
  `.execute(db);
  if ((inserted.numAffectedRows ?? 0n) > 0n) return;

  // The budget is spent: count the event on this window's overflow row for its type and outcome.
  if (await countOnRecentRow(db, event, { ip: OVERFLOW_IP }, now - ANONYMOUS_EVENT_BUDGET.windowMs, at)) return;
  await db
    .insertInto("security_events")
    .values({
      ...row,
      ip: OVERFLOW_IP,
      user_agent: "",
      path: "",
      details: JSON.stringify({ overflow: "anonymous event budget spent; counted here, not stored one by one" }),
    })
    .execute();
}

/** What a caller says about an event; where it came from is the request context's. */
export type SecurityEvent = Pick<SecurityEventInput, "type" | "outcome" | "details">;

export interface RecordOptions {
  /** Anything an anonymous client can cause: counted on one row per client and type (see recordSecurityEvent). */
  coalesce?: boolean;
  now?: number;
  /**
   * Best effort: a failure to record is logged here (with the request id) and swallowed,
   * so a refusal (401, 403, 429) never turns into a 500. Without it the error propagates,
   * which a command relies on to roll back the change the event belongs to.
   */
  bestEffort?: { error(message: string, fields: Record<string, unknown>): void };
}

/**
 * Records a security event for a request: the one function every caller uses (the
 * sign-in, setup and password commands, the attempt guard, the bearer guard, the MCP
 * endpoint and the same-origin check). The client IP, user agent and path come from
 * the request context. Pass the transaction of the change it belongs to as `db`, so
 * the event commits or rolls back with it.
 */
export async function recordEvent(db: Db, ctx: RequestContext, event: SecurityEvent, options: RecordOptions = {}): Promise<void> {
  try {
    await recordSecurityEvent(
      db,
      { ...event, ip: ctx.ip, userAgent: ctx.userAgent, path: ctx.path },
      { coalesce: options.coalesce, now: options.now },
    );
  } catch (error) {
    if (!options.bestEffort) throw error;
    options.bestEffort.error("could not record security event", { requestId: ctx.requestId, error });
  }
}

/**
 * Adds one to the newest row of this type and outcome from `match.ip` created since
 * `sinceMs` (and with the same `details.reason`, when `match.reason` is given: a short
 * code such as `missing` or `revoked` that is worth its own row); false when there is none.
 */
async function countOnRecentRow(
  db: Db,
  event: SecurityEventInput,
  match: { ip: string; reason?: string | null },
  sinceMs: number,
  at: string,
): Promise<boolean> {
  const updated = await db
    .updateTable("security_events")
    .set((eb) => ({ count: eb("count", "+", 1), last_at: at }))
    .where("id", "=", (eb) => {
      let q = eb
        .selectFrom("security_events")
        .select("id")
        .where("type", "=", event.type)
        .where("outcome", "=", event.outcome)
        .where("created_at", ">=", nowIso(sinceMs))
        .where("ip", "=", match.ip);
      if (match.reason !== undefined) q = q.where(sql<boolean>`json_extract(details, '$.reason') is ${match.reason}`);
      return q.orderBy("created_at", "desc").orderBy("id", "desc").limit(1);
    })
    .executeTakeFirst();
  return updated.numUpdatedRows > 0n;
}

/** The details as JSON with every text value capped, and the whole capped too. */
function boundedDetails(details: Record<string, unknown> | undefined): string {
  const capped = Object.fromEntries(
    Object.entries(details ?? {}).map(([k, v]) => [k.slice(0, 64), typeof v === "string" ? v.slice(0, MAX_EVENT_TEXT) : v]),
  );
  const json = JSON.stringify(capped);
  return json.length <= MAX_EVENT_DETAILS ? json : JSON.stringify({ truncated: true });
}

/**
 * Deletes events created more than `retentionDays` ago. A range delete on the
 * (created_at, id) index: cheap, run at start and once an hour, never per request.
 * Returns how many rows went.
 */
export async function pruneSecurityEvents(db: Db, retentionDays: number, now = Date.now()): Promise<number> {
  const cutoff = nowIso(now - retentionDays * 86_400_000);
  const result = await db.deleteFrom("security_events").where("created_at", "<", cutoff).executeTakeFirst();
  return Number(result.numDeletedRows);
}
