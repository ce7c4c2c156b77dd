import type { SelectQueryBuilder } from "kysely";
import { z } from "zod";
import type { Database, SecurityEvent } from "../../../db/schema";
import { DateBoundSchema, dateBounds, isEmptyRange, searchParamsRecord, type KeysetDirection } from "../audit/query.server";
import { nowIso, type Db } from "../db.server";
import { MAX_COALESCE_SPAN_MS, SECURITY_EVENT_TYPES } from "./events.server";

/**
 * Reading security events for `/settings/security-events`: the same GET filter
 * and keyset paging pattern as the audit log, ordered newest first by
 * (created_at, id) — the key of every security_events index.
 *
 * Cursor: `before-<created_at>_<id>` (older than that event) or `after-…` (newer).
 */

export const SECURITY_EVENTS_PAGE_SIZE = 50;
export const SECURITY_EVENT_OUTCOMES = ["success", "failure", "blocked"] as const;
export const SECURITY_EVENT_FILTER_KEYS = ["type", "outcome", "from", "to", "cursor"] as const;

const CURSOR_PATTERN = /^(before|after)-(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)_([1-9]\d{0,14})$/;

export const SecurityEventFilterSchema = z
  .object({
    type: z.enum(SECURITY_EVENT_TYPES, { error: "Choose one of the listed event types" }).optional(),
    outcome: z.enum(SECURITY_EVENT_OUTCOMES, { error: "Choose success, failure or blocked" }).optional(),
    from: DateBoundSchema.optional(),
    to: DateBoundSchema.optional(),
    cursor: z.string().regex(CURSOR_PATTERN, "That page link is not valid; start again from the newest events").optional(),
  })
  .refine((f) => !isEmptyRange(f.from, f.to), { path: ["to"], message: "The end date is before the start date" });

export interface SecurityEventFilters {
  type?: (typeof SECURITY_EVENT_TYPES)[number];
  outcome?: (typeof SECURITY_EVENT_OUTCOMES)[number];
  createdAt: { gte?: string; lt?: string; lte?: string };
  cursor?: { direction: KeysetDirection; createdAt: string; id: number };
}

export type ParsedSecurityEventFilters =
  | { ok: true; filters: SecurityEventFilters; values: Record<string, string | undefined> }
  | { ok: false; errors: Record<string, string>; values: Record<string, string | undefined> };

export function parseSecurityEventFilters(params: URLSearchParams): ParsedSecurityEventFilters {
  const values = searchParamsRecord(params, SECURITY_EVENT_FILTER_KEYS);
  const parsed = SecurityEventFilterSchema.safeParse(values);
  if (!parsed.success) {
    const errors: Record<string, string> = {};
    for (const issue of parsed.error.issues) errors[String(issue.path[0] ?? "form")] ??= issue.message;
    return { ok: false, errors, values };
  }
  const f = parsed.data;
  const filters: SecurityEventFilters = { createdAt: dateBounds(f.from, f.to) };
  if (f.type) filters.type = f.type;
  if (f.outcome) filters.outcome = f.outcome;
  if (f.cursor) {
    const m = CURSOR_PATTERN.exec(f.cursor)!;
    filters.cursor = { direction: m[1] as KeysetDirection, createdAt: m[2]!, id: Number(m[3]) };
  }
  return { ok: true, filters, values };
}

type EventQuery<O> = SelectQueryBuilder<Database, "security_events", O>;

function applyFilters<O>(q: EventQuery<O>, f: SecurityEventFilters): EventQuery<O> {
  if (f.type) q = q.where("type", "=", f.type);
  if (f.outcome) q = q.where("outcome", "=", f.outcome);
  if (f.createdAt.gte) q = q.where("created_at", ">=", f.createdAt.gte);
  if (f.createdAt.lt) q = q.where("created_at", "<", f.createdAt.lt);
  if (f.createdAt.lte) q = q.where("created_at", "<=", f.createdAt.lte);
  return q;
}

/**
 * The filters plus "strictly older (`<`) or newer (`>`) than this event". A date
 * bound the boundary already implies is left out, so SQLite walks the index from
 * the boundary rather than from the far end of the date range.
 */
function beyond<O>(q: EventQuery<O>, f: SecurityEventFilters, op: "<" | ">", createdAt: string, id: number): EventQuery<O> {
  const { gte, lt, lte } = f.createdAt;
  const bounds =
    op === ">"
      ? { gte: gte !== undefined && createdAt >= gte ? undefined : gte, lt, lte }
      : { gte, lt: lt !== undefined && createdAt < lt ? undefined : lt, lte: lte !== undefined && createdAt <= lte ? undefined : lte };
  const kept = Object.fromEntries(Object.entries(bounds).filter(([, v]) => v !== undefined));
  return applyFilters(q, { ...f, createdAt: kept }).where(({ eb, refTuple, tuple }) =>
    eb(refTuple("created_at", "id"), op, tuple(createdAt, id)),
  );
}

function cursorOf(direction: KeysetDirection, e: Pick<SecurityEvent, "created_at" | "id">): string {
  return `${direction}-${e.created_at}_${e.id}`;
}

export interface SecurityEventPage {
  events: SecurityEvent[];
  newerCursor: string | null;
  olderCursor: string | null;
}

/** One page of matching events, newest first. */
export async function listSecurityEventPage(
  db: Db,
  filters: SecurityEventFilters,
  pageSize = SECURITY_EVENTS_PAGE_SIZE,
): Promise<SecurityEventPage> {
  const c = filters.cursor;
  const direction = c?.direction ?? "before";
  const order = direction === "before" ? "desc" : "asc";
  const base = db.selectFrom("security_events").selectAll();
  const q = c ? beyond(base, filters, direction === "before" ? "<" : ">", c.createdAt, c.id) : applyFilters(base, filters);
  const rows = await q.orderBy("created_at", order).orderBy("id", order).limit(pageSize + 1).execute();
  const more = rows.length > pageSize;
  const events = rows.slice(0, pageSize);
  if (direction === "after") events.reverse();
  const newest = events[0];
  const oldest = events[events.length - 1];
  if (!newest || !oldest) return { events, newerCursor: null, olderCursor: null };

  const hasOlder = direction === "before" ? more : await exists(db, filters, "<", oldest);
  const hasNewer = direction === "after" ? more : c ? await exists(db, filters, ">", newest) : false;
  return {
    events,
    newerCursor: hasNewer ? cursorOf("after", newest) : null,
    olderCursor: hasOlder ? cursorOf("before", oldest) : null,
  };
}

async function exists(db: Db, filters: SecurityEventFilters, op: "<" | ">", e: SecurityEvent): Promise<boolean> {
  // Ordered away from the boundary, so the index walk starts right next to it.
  const order = op === "<" ? "desc" : "asc";
  const row = await beyond(db.selectFrom("security_events").select("id"), filters, op, e.created_at, e.id)
    .orderBy("created_at", order)
    .orderBy("id", order)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * How many failed and blocked events happened in the last 24 hours, counting
 * coalesced repeats. A coalesced row's `last_at` is at most MAX_COALESCE_SPAN_MS
 * after its `created_at`, so the index on (outcome, created_at) bounds the scan.
 */
export async function countRecentProblems(db: Db, now = Date.now()): Promise<{ failure: number; blocked: number; since: string }> {
  const since = nowIso(now - 86_400_000);
  const rows = await db
    .selectFrom("security_events")
    .select(["outcome", (eb) => eb.fn.sum<number>("count").as("total")])
    .where("outcome", "in", ["failure", "blocked"])
    .where("created_at", ">=", nowIso(now - 86_400_000 - MAX_COALESCE_SPAN_MS))
    .where("last_at", ">=", since)
    .groupBy("outcome")
    .execute();
  const total = (o: string) => Number(rows.find((r) => r.outcome === o)?.total ?? 0);
  return { failure: total("failure"), blocked: total("blocked"), since };
}

/** How long after a change its confirmation is shown on the page the change redirects to. */
export const CONFIRMATION_WINDOW_MS = 5 * 60_000;

/**
 * The newest successful event of `type` within the confirmation window, with its
 * details parsed (an empty object when they are not a JSON object). Pages show a
 * "done" notice from this record, never from a query parameter, so a crafted link
 * cannot claim a change that did not happen.
 */
export async function recentSuccess(
  db: Db,
  type: (typeof SECURITY_EVENT_TYPES)[number],
  now = Date.now(),
): Promise<{ createdAt: string; details: Record<string, unknown> } | null> {
  const event = await db
    .selectFrom("security_events")
    .select(["created_at", "details"])
    .where("type", "=", type)
    .where("outcome", "=", "success")
    .where("created_at", ">=", nowIso(now - CONFIRMATION_WINDOW_MS))
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .limit(1)
    .executeTakeFirst();
  if (!event) return null;
  let details: unknown = null;
  try {
    details = JSON.parse(event.details);
  } catch {
    // stored by this app as JSON; anything else reads as no details
  }
  return {
    createdAt: event.created_at,
    details: details && typeof details === "object" && !Array.isArray(details) ? (details as Record<string, unknown>) : {},
  };
}
