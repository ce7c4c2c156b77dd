import { sql, type SelectQueryBuilder } from "kysely";
import { AUDIT_ACTIONS, AUDIT_RESOURCE_TYPES } from "./actions";
import { z } from "zod";
import type { AuditEntry, Database } from "../../../db/schema";
import type { Db } from "../db.server";
import { JsonObjectSchema, parseJsonColumn } from "../domain/json";
import { dateBounds, DateBoundSchema, EMPTY_RANGE, isOrderedRange, parseListQuery, type ListQuery } from "../domain/list-query";
import {
  boundsBeyond,
  keysetBeyond,
  linkCursor,
  readTwoWayPage,
  serialPart,
  type KeysetDirection,
  type KeysetOp,
  type TimeBounds,
} from "../domain/paging.server";

/**
 * Reading the audit log for the console: the GET filters of
 * `/settings/audit-logs` (and its export), validated with zod, turned into
 * index-backed queries, and paged by KEYSET on `seq` (app/lib/domain/paging.server.ts).
 *
 * A cursor names the boundary entry by its seq and the direction from it:
 * `before-<seq>` is the page of entries older than that entry (the "next" page
 * of a newest-first list), `after-<seq>` the page of entries newer than it
 * ("previous"). With a date range the key is (created_at, seq); see ordersByTime.
 */

export const AUDIT_PAGE_SIZE = 50;

export type { KeysetDirection } from "../domain/paging.server";

/** `before-<seq>` / `after-<seq>`: the page older or newer than that entry. */
const AUDIT_CURSOR = linkCursor(serialPart);
const INVALID_CURSOR = "That page link is not valid; start again from the newest entries";

const ACTOR_PATTERN = /^(owner|cli|system|token:[1-9]\d{0,15})$/;
const NAME_PATTERN = /^[A-Za-z0-9_.:-]+$/;

export const AuditFilterSchema = z
  .object({
    actor: z.string().regex(ACTOR_PATTERN, "Choose the owner, the CLI or one of the tokens").optional(),
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
      .refine((value) => AUDIT_CURSOR.decode(value) !== null, INVALID_CURSOR)
      .optional(),
  })
  .refine(isOrderedRange, EMPTY_RANGE);

export type AuditFilterInput = z.output<typeof AuditFilterSchema>;
export const AUDIT_FILTER_KEYS = ["actor", "action", "resource_type", "resource_id", "from", "to", "cursor"] as const;

export interface AuditFilters {
  actor?: { type: "owner" } | { type: "cli" } | { type: "system" } | { type: "token"; id: string };
  action?: string;
  resourceType?: string;
  resourceId?: string;
  createdAt: TimeBounds;
  cursor?: { direction: KeysetDirection; seq: number };
}

export type ParsedAuditFilters = ListQuery<AuditFilters>;

/** The audit log's filters from valid input. */
function auditFilters(f: AuditFilterInput): AuditFilters {
  const filters: AuditFilters = { createdAt: dateBounds(f.from, f.to) };
  if (f.actor === "owner" || f.actor === "cli" || f.actor === "system") filters.actor = { type: f.actor };
  else if (f.actor) filters.actor = { type: "token", id: f.actor.slice("token:".length) };
  if (f.action) filters.action = f.action;
  if (f.resource_type) filters.resourceType = f.resource_type;
  if (f.resource_id) filters.resourceId = f.resource_id;
  const position = f.cursor === undefined ? null : AUDIT_CURSOR.decode(f.cursor);
  if (position) filters.cursor = { direction: position.direction, seq: position.key[0] };
  return filters;
}

/** Validates the filter parameters of a URL. Invalid input is reported per field, never thrown. */
export function parseAuditFilters(params: URLSearchParams): ParsedAuditFilters {
  return parseListQuery(params, { keys: AUDIT_FILTER_KEYS, schema: AuditFilterSchema, toFilters: auditFilters });
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
 * list's order (with dates, a date bound the boundary already implies is left out).
 */
function beyond<O>(q: AuditQuery<O>, f: AuditFilters, op: KeysetOp, b: Boundary): AuditQuery<O> {
  if (!ordersByTime(f)) return applyFilters(q, f).where(keysetBeyond(["seq"], op, [b.seq]));
  return applyFilters(q, { ...f, createdAt: boundsBeyond(f.createdAt, op, b.created_at) }, true).where(
    keysetBeyond(["created_at", "seq"], op, [b.created_at, b.seq]),
  );
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
  let boundary: Boundary | null = null;
  if (filters.cursor) {
    boundary =
      (await db.selectFrom("audit_log").select(["seq", "created_at"]).where("seq", "=", filters.cursor.seq).executeTakeFirst()) ??
      null;
    if (!boundary) return EMPTY_PAGE;
  }
  const page = await readTwoWayPage<AuditEntry, Boundary>({
    direction: filters.cursor?.direction ?? "before",
    boundary,
    pageSize,
    read: (window, order, limit) => {
      const base = db.selectFrom("audit_log").selectAll();
      const q = window ? beyond(base, filters, window.op, window.boundary) : applyFilters(base, filters);
      return ordered(q, filters, order).limit(limit).execute();
    },
    boundaryOf: (entry) => entry,
  });
  if (page.rows.length === 0) return EMPTY_PAGE;
  return {
    entries: page.rows,
    newerCursor: page.newer ? AUDIT_CURSOR.encode("after", [page.newer.seq]) : null,
    olderCursor: page.older ? AUDIT_CURSOR.encode("before", [page.older.seq]) : null,
  };
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
  const parsed = parseJsonColumn(changes, JsonObjectSchema, null);
  if (parsed === null) return null;
  return Object.entries(parsed).map(([field, value]) => {
    const v = (value && typeof value === "object" ? value : {}) as { before?: unknown; after?: unknown };
    return { field, before: showValue(v.before), after: showValue(v.after) };
  });
}

/** JSON, so a string, a number and null never look alike. */
function showValue(value: unknown): string {
  return value === undefined ? "—" : JSON.stringify(value);
}
