import { sql, type SelectQueryBuilder } from "kysely";
import { AUDIT_ACTIONS, AUDIT_RESOURCE_TYPES } from "./actions";
import { z } from "zod";
import type { AuditEntry, Database } from "../../../db/schema";
import type { Db } from "../db.server";

/**
 * Reading the audit log for the console: the GET filters of
 * `/settings/audit-logs` (and its export), validated with zod, turned into
 * index-backed queries, and paged by KEYSET on `seq` — never OFFSET, so page
 * 2,000 costs what page 1 costs.
 *
 * A cursor names the boundary entry by its seq and the direction from it:
 * `before-<seq>` is the page of entries older than that entry (the "next" page
 * of a newest-first list), `after-<seq>` the page of entries newer than it
 * ("previous"). With a date range the key is (created_at, seq); see ordersByTime.
 */

export const AUDIT_PAGE_SIZE = 50;

/** Query-string parameters: only the first value of each counts; blank means "not set". */
export function searchParamsRecord(params: URLSearchParams, keys: readonly string[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const key of keys) {
    const value = params.get(key)?.trim();
    out[key] = value ? value : undefined;
  }
  return out;
}

/** A date (`2026-11-27`, the whole UTC day) or an exact instant (`2026-11-27T10:00:00Z`). */
export const DateBoundSchema = z.union([z.iso.date(), z.iso.datetime({ offset: true })], {
  error: "Use a date like 2026-11-27 (or an ISO 8601 time)",
});

const DAY_MS = 86_400_000;

/**
 * Turns `from` / `to` into bounds on the stored ISO strings (which compare as
 * text). `from` is inclusive from the start of its day; `to` is inclusive up to
 * the end of its day, or of the exact instant when a time is given.
 */
export function dateBounds(from: string | undefined, to: string | undefined): { gte?: string; lt?: string; lte?: string } {
  const bounds: { gte?: string; lt?: string; lte?: string } = {};
  if (from) bounds.gte = new Date(isDateOnly(from) ? `${from}T00:00:00.000Z` : from).toISOString();
  if (to) {
    if (isDateOnly(to)) bounds.lt = new Date(Date.parse(`${to}T00:00:00.000Z`) + DAY_MS).toISOString();
    else bounds.lte = new Date(to).toISOString();
  }
  return bounds;
}

function isDateOnly(value: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(value);
}

/** True when the range is empty (`from` after `to`). */
export function isEmptyRange(from: string | undefined, to: string | undefined): boolean {
  if (!from || !to) return false;
  const b = dateBounds(from, to);
  return (b.lt !== undefined && b.gte! >= b.lt) || (b.lte !== undefined && b.gte! > b.lte);
}

export type KeysetDirection = "before" | "after";

const ACTOR_PATTERN = /^(owner|cli|token:[1-9]\d{0,15})$/;
const NAME_PATTERN = /^[A-Za-z0-9_.:-]+$/;

export const AuditFilterSchema = z
  .object({
    actor: z
      .string()
      .regex(ACTOR_PATTERN, "Choose the owner, the CLI or one of the tokens")
      .optional(),
    action: z
      .string()
      .max(100, "An action is at most 100 characters")
      .regex(NAME_PATTERN, "Actions look like task.update: letters, digits, dots, dashes, underscores")
      .optional(),
    resource_type: z
      .string()
      .max(100, "A resource type is at most 100 characters")
      .regex(NAME_PATTERN, "Resource types look like task or api_token: letters, digits, dots, dashes, underscores")
      .optional(),
    resource_id: z.string().max(200, "A resource id is at most 200 characters").optional(),
    from: DateBoundSchema.optional(),
    to: DateBoundSchema.optional(),
    cursor: z
      .string()
      .regex(/^(before|after)-[1-9]\d{0,14}$/, "That page link is not valid; start again from the newest entries")
      .optional(),
  })
  .refine((f) => !isEmptyRange(f.from, f.to), { path: ["to"], message: "The end date is before the start date" });

export type AuditFilterInput = z.output<typeof AuditFilterSchema>;
export const AUDIT_FILTER_KEYS = ["actor", "action", "resource_type", "resource_id", "from", "to", "cursor"] as const;

export interface AuditFilters {
  actor?: { type: "owner" } | { type: "cli" } | { type: "token"; id: string };
  action?: string;
  resourceType?: string;
  resourceId?: string;
  createdAt: { gte?: string; lt?: string; lte?: string };
  cursor?: { direction: KeysetDirection; seq: number };
}

export type ParsedAuditFilters =
  | { ok: true; filters: AuditFilters; values: Record<string, string | undefined> }
  | { ok: false; errors: Record<string, string>; values: Record<string, string | undefined> };

/** Validates the filter parameters of a URL. Invalid input is reported per field, never thrown. */
export function parseAuditFilters(params: URLSearchParams): ParsedAuditFilters {
  const values = searchParamsRecord(params, AUDIT_FILTER_KEYS);
  const parsed = AuditFilterSchema.safeParse(values);
  if (!parsed.success) {
    const errors: Record<string, string> = {};
    for (const issue of parsed.error.issues) errors[String(issue.path[0] ?? "form")] ??= issue.message;
    return { ok: false, errors, values };
  }
  const f = parsed.data;
  const filters: AuditFilters = { createdAt: dateBounds(f.from, f.to) };
  if (f.actor === "owner" || f.actor === "cli") filters.actor = { type: f.actor };
  else if (f.actor) filters.actor = { type: "token", id: f.actor.slice("token:".length) };
  if (f.action) filters.action = f.action;
  if (f.resource_type) filters.resourceType = f.resource_type;
  if (f.resource_id) filters.resourceId = f.resource_id;
  if (f.cursor) {
    const [direction, seq] = f.cursor.split("-") as [KeysetDirection, string];
    filters.cursor = { direction, seq: Number(seq) };
  }
  return { ok: true, filters, values };
}

type AuditQuery<O> = SelectQueryBuilder<Database, "audit_log", O>;

/**
 * Applies the filters (not the cursor). Without dates, each equality filter has
 * an index ending in `seq`. With dates, the (created_at, seq) index drives the
 * query and the broad filters (actor, action, resource type) are checked on the
 * rows it yields (`+col` keeps SQLite from picking their index and sorting all
 * their matches): the cost is bounded by the rows of the date range read until
 * a page is full. A resource id is narrow (one task's history), so its index
 * stays usable and its few matches are sorted.
 */
function applyFilters<O>(q: AuditQuery<O>, f: AuditFilters, byTime = ordersByTime(f)): AuditQuery<O> {
  const col = (name: "actor_type" | "actor_id" | "action" | "resource_type") =>
    byTime ? sql<string>`+${sql.ref(name)}` : sql<string>`${sql.ref(name)}`;
  if (f.actor) {
    q = q.where(col("actor_type"), "=", f.actor.type);
    if (f.actor.type === "token") q = q.where(col("actor_id"), "=", f.actor.id);
  }
  if (f.action) q = q.where(col("action"), "=", f.action);
  if (f.resourceType) q = q.where(col("resource_type"), "=", f.resourceType);
  if (f.resourceId) q = q.where("resource_id", "=", f.resourceId);
  if (f.createdAt.gte) q = q.where("created_at", ">=", f.createdAt.gte);
  if (f.createdAt.lt) q = q.where("created_at", "<", f.createdAt.lt);
  if (f.createdAt.lte) q = q.where("created_at", "<=", f.createdAt.lte);
  return q;
}

/**
 * A date range is read through the (created_at, seq) index, so the list is in
 * (created_at, seq) order: the same as seq order, since entries are appended in
 * time order, but exact even if the clock ever stepped back, and a range deep in
 * the past costs what a recent one costs. Without dates the order is seq alone.
 */
function ordersByTime(f: AuditFilters): boolean {
  return Boolean(f.createdAt.gte || f.createdAt.lt || f.createdAt.lte);
}

type Boundary = Pick<AuditEntry, "seq" | "created_at">;

/**
 * Entries strictly older (`<`) or newer (`>`) than the boundary entry, in the
 * list's order. With dates, a date bound the boundary already implies is left
 * out: SQLite uses one lower and one upper bound of the index, and must use the
 * boundary's, or it would walk from the far end of the range to reach it.
 */
function beyond<O>(q: AuditQuery<O>, f: AuditFilters, op: "<" | ">", b: Boundary): AuditQuery<O> {
  if (!ordersByTime(f)) return applyFilters(q, f).where("seq", op, b.seq);
  const { gte, lt, lte } = f.createdAt;
  const createdAt =
    op === ">"
      ? { gte: gte !== undefined && b.created_at >= gte ? undefined : gte, lt, lte }
      : { gte, lt: lt !== undefined && b.created_at < lt ? undefined : lt, lte: lte !== undefined && b.created_at <= lte ? undefined : lte };
  return applyFilters(q, { ...f, createdAt: clean(createdAt) }, true).where(({ eb, refTuple, tuple }) =>
    eb(refTuple("created_at", "seq"), op, tuple(b.created_at, b.seq)),
  );
}

function clean(bounds: { gte?: string; lt?: string; lte?: string }): AuditFilters["createdAt"] {
  return Object.fromEntries(Object.entries(bounds).filter(([, v]) => v !== undefined));
}

function ordered<O>(q: AuditQuery<O>, f: AuditFilters, direction: "asc" | "desc"): AuditQuery<O> {
  return ordersByTime(f) ? q.orderBy("created_at", direction).orderBy("seq", direction) : q.orderBy("seq", direction);
}

export interface AuditPage {
  entries: AuditEntry[];
  /** Cursor of the page of newer entries, or null on the newest page. */
  newerCursor: string | null;
  /** Cursor of the page of older entries, or null on the oldest page. */
  olderCursor: string | null;
}

const EMPTY_PAGE: AuditPage = { entries: [], newerCursor: null, olderCursor: null };

/** One page of matching entries, newest first. */
export async function listAuditPage(db: Db, filters: AuditFilters, pageSize = AUDIT_PAGE_SIZE): Promise<AuditPage> {
  const direction = filters.cursor?.direction ?? "before";
  let q = db.selectFrom("audit_log").selectAll();
  if (filters.cursor) {
    const boundary = await db
      .selectFrom("audit_log")
      .select(["seq", "created_at"])
      .where("seq", "=", filters.cursor.seq)
      .executeTakeFirst();
    if (!boundary) return EMPTY_PAGE;
    q = beyond(q, filters, direction === "before" ? "<" : ">", boundary);
  } else {
    q = applyFilters(q, filters);
  }
  const rows = await ordered(q, filters, direction === "before" ? "desc" : "asc")
    .limit(pageSize + 1)
    .execute();
  const more = rows.length > pageSize;
  const entries = rows.slice(0, pageSize);
  if (direction === "after") entries.reverse();
  const newest = entries[0];
  const oldest = entries[entries.length - 1];
  if (!newest || !oldest) return EMPTY_PAGE;

  const hasOlder = direction === "before" ? more : await exists(db, filters, "<", oldest);
  const hasNewer = direction === "after" ? more : filters.cursor ? await exists(db, filters, ">", newest) : false;
  return {
    entries,
    newerCursor: hasNewer ? `after-${newest.seq}` : null,
    olderCursor: hasOlder ? `before-${oldest.seq}` : null,
  };
}

async function exists(db: Db, filters: AuditFilters, op: "<" | ">", b: Boundary): Promise<boolean> {
  // Ordered away from the boundary, so the index walk starts right next to it.
  const q = beyond(db.selectFrom("audit_log").select("seq"), filters, op, b);
  const row = await ordered(q, filters, op === "<" ? "desc" : "asc")
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Every matching entry, newest first (the page's order), read in keyset chunks:
 * memory use is one chunk however long the log is. The cursor is ignored (an
 * export is the whole set).
 */
export async function* iterateAuditEntries(db: Db, filters: AuditFilters, chunkSize = 1_000): AsyncGenerator<AuditEntry[]> {
  let last: Boundary | undefined;
  for (;;) {
    const base = db.selectFrom("audit_log").selectAll();
    const q = last ? beyond(base, filters, "<", last) : applyFilters(base, filters);
    const rows = await ordered(q, filters, "desc").limit(chunkSize).execute();
    if (rows.length) yield rows;
    if (rows.length < chunkSize) return;
    last = rows[rows.length - 1]!;
  }
}

export interface ActorTokenOption {
  id: number;
  name: string;
  hint: string;
  revoked: boolean;
}

/** Tokens for the actor filter, newest first, revoked ones included (their history matters most). */
export async function listActorTokens(db: Db, limit = 1_000): Promise<ActorTokenOption[]> {
  const rows = await db
    .selectFrom("api_tokens")
    .select(["id", "name", "hint", "revoked_at"])
    .orderBy("id", "desc")
    .limit(limit)
    .execute();
  return rows.map((r) => ({ id: r.id, name: r.name, hint: r.hint, revoked: r.revoked_at !== null }));
}

/** Offered as suggestions in the filter (any value may be typed): every action and type the log can hold. */
export const KNOWN_AUDIT_ACTIONS = AUDIT_ACTIONS;
export const KNOWN_RESOURCE_TYPES = AUDIT_RESOURCE_TYPES;

export interface ChangeView {
  field: string;
  before: string;
  after: string;
}

/** The `changes` JSON as rows for display; null when it is not the expected shape. */
export function describeChanges(changes: string): ChangeView[] | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(changes);
  } catch {
    return null;
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return null;
  return Object.entries(parsed as Record<string, unknown>).map(([field, value]) => {
    const v = (value && typeof value === "object" ? value : {}) as { before?: unknown; after?: unknown };
    return { field, before: showValue(v.before), after: showValue(v.after) };
  });
}

/** JSON, so a string, a number and null never look alike. */
function showValue(value: unknown): string {
  return value === undefined ? "—" : JSON.stringify(value);
}
