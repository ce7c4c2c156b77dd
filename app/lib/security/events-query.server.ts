import type { SelectQueryBuilder } from "kysely";
import { z } from "zod";
import { SECURITY_EVENT_OUTCOMES, type Database, type SecurityEvent, type SecurityEventOutcome } from "../../../db/schema";
import { dateBounds, DateBoundSchema, EMPTY_RANGE, isOrderedRange, parseListQuery, type ListQuery } from "../domain/list-query";
import {
  boundsBeyond,
  keysetBeyond,
  linkCursor,
  readTwoWayPage,
  serialPart,
  timestampPart,
  type KeysetDirection,
  type KeysetOp,
  type TimeBounds,
} from "../domain/paging.server";
import { nowIso, type Db } from "../db.server";
import { MAX_COALESCE_SPAN_MS, SECURITY_EVENT_TYPES } from "./events.server";

/**
 * Reading security events for `/settings/security-events`: the same GET filter
 * and keyset paging (app/lib/domain/paging.server.ts) as the audit log, ordered
 * newest first by (created_at, id) — the key of every security_events index.
 *
 * Cursor: `before-<created_at>_<id>` (older than that event) or `after-…` (newer).
 */

export const SECURITY_EVENTS_PAGE_SIZE = 50;
export { SECURITY_EVENT_OUTCOMES };
export const SECURITY_EVENT_FILTER_KEYS = ["type", "outcome", "from", "to", "cursor"] as const;

/** `before-<created_at>_<id>` / `after-…`: the page older or newer than that event. */
const EVENT_CURSOR = linkCursor(timestampPart, serialPart);

export const SecurityEventFilterSchema = z
  .object({
    type: z.enum(SECURITY_EVENT_TYPES, { error: "Choose one of the listed event types" }).optional(),
    outcome: z.enum(SECURITY_EVENT_OUTCOMES, { error: "Choose success, failure or blocked" }).optional(),
    from: DateBoundSchema.optional(),
    to: DateBoundSchema.optional(),
    cursor: z
      .string()
      .refine((value) => EVENT_CURSOR.decode(value) !== null, "That page link is not valid; start again from the newest events")
      .optional(),
  })
  .refine(isOrderedRange, EMPTY_RANGE);

export interface SecurityEventFilters {
  type?: (typeof SECURITY_EVENT_TYPES)[number];
  outcome?: SecurityEventOutcome;
  createdAt: TimeBounds;
  cursor?: { direction: KeysetDirection; createdAt: string; id: number };
}

export type ParsedSecurityEventFilters = ListQuery<SecurityEventFilters>;

/** The security events' filters from valid input. */
function securityEventFilters(f: z.output<typeof SecurityEventFilterSchema>): SecurityEventFilters {
  const filters: SecurityEventFilters = { createdAt: dateBounds(f.from, f.to) };
  if (f.type) filters.type = f.type;
  if (f.outcome) filters.outcome = f.outcome;
  const position = f.cursor === undefined ? null : EVENT_CURSOR.decode(f.cursor);
  if (position) filters.cursor = { direction: position.direction, createdAt: position.key[0], id: position.key[1] };
  return filters;
}

/** Validates the filter parameters of a URL. Invalid input is reported per field, never thrown. */
export function parseSecurityEventFilters(params: URLSearchParams): ParsedSecurityEventFilters {
  return parseListQuery(params, {
    keys: SECURITY_EVENT_FILTER_KEYS,
    schema: SecurityEventFilterSchema,
    toFilters: securityEventFilters,
  });
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

/** The filters plus "strictly older (`<`) or newer (`>`) than this event". */
function beyond<O>(q: EventQuery<O>, f: SecurityEventFilters, op: KeysetOp, e: Boundary): EventQuery<O> {
  return applyFilters(q, { ...f, createdAt: boundsBeyond(f.createdAt, op, e.created_at) }).where(
    keysetBeyond(["created_at", "id"], op, [e.created_at, e.id]),
  );
}

type Boundary = Pick<SecurityEvent, "created_at" | "id">;

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
  const page = await readTwoWayPage<SecurityEvent, Boundary>({
    direction: c?.direction ?? "before",
    boundary: c ? { created_at: c.createdAt, id: c.id } : null,
    pageSize,
    read: (window, order, limit) => {
      const base = db.selectFrom("security_events").selectAll();
      const q = window ? beyond(base, filters, window.op, window.boundary) : applyFilters(base, filters);
      return q.orderBy("created_at", order).orderBy("id", order).limit(limit).execute();
    },
    boundaryOf: (event) => event,
  });
  const cursorOf = (direction: KeysetDirection, e: Boundary) => EVENT_CURSOR.encode(direction, [e.created_at, e.id]);
  return {
    events: page.rows,
    newerCursor: page.newer ? cursorOf("after", page.newer) : null,
    olderCursor: page.older ? cursorOf("before", page.older) : null,
  };
}

/**
 * How many failed and blocked events happened in the last 24 hours, counting
 * coalesced repeats. A coalesced row's `last_at` is at most MAX_COALESCE_SPAN_MS
 * after its `created_at`, so the index on (outcome, created_at) bounds the scan.
 */
export async function countRecentProblems(
  db: Db,
  now = Date.now(),
): Promise<{ failure: number; blocked: number; since: string }> {
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
