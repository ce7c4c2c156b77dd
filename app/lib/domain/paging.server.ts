/**
 * Keyset paging, the one implementation behind every long list: the task list of
 * the API (and MCP), the audit log and the security events of the console. A page
 * is "the rows strictly beyond this key, in index order, limit n" — never OFFSET,
 * so page 2,000 costs what page 1 costs, and rows inserted during a walk cause no
 * duplicate or miss.
 *
 * - A **cursor** is the key of a page's boundary row, as text. Decoding validates
 *   every part, so a forged or damaged cursor decodes to null (the caller answers a
 *   400 or a form error), never a query with garbage in it. Two spellings: the
 *   console's page links (`before-<seq>`, `after-<created_at>_<id>`: readable,
 *   two-way) and the API's opaque base64url JSON (one-way, newest first).
 * - The **comparison** is a row value, `(a, b) < (x, y)`: SQLite walks the index
 *   from the boundary (an OR of two ranges can make it collect both and sort them).
 * - A **date range** bound that the boundary already implies is dropped, so SQLite
 *   uses the boundary's bound of the index instead of walking from the range's far end.
 * - A **two-way page** reads n + 1 rows to know whether more exist, and probes one
 *   row the other way for the opposite link.
 */
import { sql, type RawBuilder, type SqlBool } from "kysely";

export type KeysetDirection = "before" | "after";
export type KeysetOp = "<" | ">";

// ---------------------------------------------------------------- key parts

/** One part of a key: how it is written in a cursor, and read back (null when it is not one this server writes). */
export interface KeyPart<T extends string | number> {
  write(value: T): string;
  read(text: string): T | null;
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A stored time: ISO 8601 UTC with milliseconds, a real instant, in its canonical spelling. */
export const timestampPart: KeyPart<string> = {
  write: (value) => value,
  read: (text) => (ISO_UTC.test(text) && !Number.isNaN(Date.parse(text)) && new Date(text).toISOString() === text ? text : null),
};

/** A lower-case UUID (task ids). */
export const uuidPart: KeyPart<string> = {
  write: (value) => value,
  read: (text) => (UUID.test(text) ? text : null),
};

/** A positive integer row id (audit seq, security event id): 1–15 digits, no leading zero. */
export const serialPart: KeyPart<number> = {
  write: (value) => String(value),
  read: (text) => (/^[1-9]\d{0,14}$/.test(text) ? Number(text) : null),
};

type PartValues<P extends readonly KeyPart<string | number>[]> = {
  -readonly [I in keyof P]: P[I] extends KeyPart<infer T> ? T : never;
};

const MAX_CURSOR_LENGTH = 200;

// ---------------------------------------------------------------- cursors

export interface LinkPosition<K> {
  direction: KeysetDirection;
  key: K;
}

export interface LinkCursor<K> {
  encode(direction: KeysetDirection, key: K): string;
  decode(text: string): LinkPosition<K> | null;
}

/**
 * The console's two-way page-link cursor: `<before|after>-<part>_<part>…`, the
 * page of rows older (`before`) or newer (`after`) than the row with that key.
 */
export function linkCursor<const P extends readonly KeyPart<string | number>[]>(...parts: P): LinkCursor<PartValues<P>> {
  return {
    encode(direction, key) {
      return `${direction}-${parts.map((part, i) => (part as KeyPart<string | number>).write(key[i] as string | number)).join("_")}`;
    },
    decode(text) {
      if (text.length > MAX_CURSOR_LENGTH) return null;
      const match = /^(before|after)-(.+)$/.exec(text);
      if (!match) return null;
      const key = readParts(parts, match[2]!.split("_"));
      return key === null ? null : { direction: match[1] as KeysetDirection, key };
    },
  };
}

export interface OpaqueCursor<K> {
  encode(key: K): string;
  decode(text: string): K | null;
}

/**
 * The API's opaque cursor: base64url of `{"v":1,"<name>":…,…}`, one field per key
 * part under a short name. Following it reads the page after that row.
 */
export function opaqueCursor<const P extends readonly KeyPart<string | number>[]>(
  names: { readonly [I in keyof P]: string },
  ...parts: P
): OpaqueCursor<PartValues<P>> {
  return {
    encode(key) {
      const body: Record<string, string | number> = { v: 1 };
      parts.forEach((part, i) => (body[names[i]!] = (part as KeyPart<string | number>).write(key[i] as string | number)));
      return Buffer.from(JSON.stringify(body), "utf8").toString("base64url");
    },
    decode(text) {
      if (text.length === 0 || text.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(text)) return null;
      let value: unknown;
      try {
        value = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
      } catch {
        return null;
      }
      if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
      const body = value as Record<string, unknown>;
      if (body.v !== 1) return null;
      const pieces = names.map((name) => body[name]);
      if (!pieces.every((piece): piece is string => typeof piece === "string")) return null;
      return readParts(parts, pieces);
    },
  };
}

function readParts<P extends readonly KeyPart<string | number>[]>(parts: P, pieces: readonly string[]): PartValues<P> | null {
  if (pieces.length !== parts.length) return null;
  const key: (string | number)[] = [];
  for (let i = 0; i < parts.length; i++) {
    const value = (parts[i] as KeyPart<string | number>).read(pieces[i]!);
    if (value === null) return null;
    key.push(value);
  }
  return key as PartValues<P>;
}

// ---------------------------------------------------------------- the query

/**
 * Rows strictly beyond `key` in the order of `columns`: `col < ?` for one column,
 * the row value `(a, b) < (?, ?)` for several.
 */
export function keysetBeyond(columns: readonly string[], op: KeysetOp, key: readonly (string | number)[]): RawBuilder<SqlBool> {
  if (columns.length !== key.length || columns.length === 0) throw new Error("keysetBeyond: one value per column");
  if (columns.length === 1) return sql<SqlBool>`${sql.ref(columns[0]!)} ${sql.raw(op)} ${key[0]}`;
  return sql<SqlBool>`(${sql.join(columns.map((c) => sql.ref(c)))}) ${sql.raw(op)} (${sql.join([...key])})`;
}

/** A range on a stored time: from (inclusive), and before or up to (inclusive). */
export interface TimeBounds {
  gte?: string;
  lt?: string;
  lte?: string;
}

/**
 * The bounds still needed beyond a boundary at time `at`: a bound the boundary
 * already implies is left out, so SQLite takes the boundary's side of the index
 * range and walks from it, not from the far end of the date range.
 */
export function boundsBeyond(bounds: TimeBounds, op: KeysetOp, at: string): TimeBounds {
  const { gte, lt, lte } = bounds;
  const kept: TimeBounds =
    op === ">"
      ? { gte: gte !== undefined && at >= gte ? undefined : gte, lt, lte }
      : { gte, lt: lt !== undefined && at < lt ? undefined : lt, lte: lte !== undefined && at <= lte ? undefined : lte };
  return Object.fromEntries(Object.entries(kept).filter(([, v]) => v !== undefined));
}

// ---------------------------------------------------------------- pages

/** `rows` read with `limit + 1`: the page, and whether another follows it. */
export function splitPage<R>(rows: readonly R[], limit: number): { page: R[]; more: boolean } {
  return { page: rows.slice(0, limit), more: rows.length > limit };
}

export interface KeysetWindow<B> {
  op: KeysetOp;
  boundary: B;
}

export interface TwoWayPage<R> {
  /** Newest first. */
  rows: R[];
  /** The newest row, when a page of newer rows exists. */
  newer: R | null;
  /** The oldest row, when a page of older rows exists. */
  older: R | null;
}

/**
 * One page of a newest-first list, either side of a boundary. `read` runs the
 * list's query: its filters, rows beyond `window` (all rows when null), in `order`
 * of the key, at most `limit`. `boundaryOf` gives a row's key.
 */
export async function readTwoWayPage<R, B>(options: {
  direction: KeysetDirection;
  boundary: B | null;
  pageSize: number;
  read: (window: KeysetWindow<B> | null, order: "asc" | "desc", limit: number) => Promise<R[]>;
  boundaryOf: (row: R) => B;
}): Promise<TwoWayPage<R>> {
  const { direction, boundary, pageSize, read, boundaryOf } = options;
  const window = boundary === null ? null : { op: direction === "before" ? ("<" as const) : (">" as const), boundary };
  const { page, more } = splitPage(await read(window, direction === "before" ? "desc" : "asc", pageSize + 1), pageSize);
  if (direction === "after") page.reverse();
  const newest = page[0];
  const oldest = page[page.length - 1];
  if (newest === undefined || oldest === undefined) return { rows: page, newer: null, older: null };
  // Probed ordered away from the boundary, so the index walk starts right next to it.
  const exists = async (op: KeysetOp, row: R) =>
    (await read({ op, boundary: boundaryOf(row) }, op === "<" ? "desc" : "asc", 1)).length > 0;
  const hasOlder = direction === "before" ? more : await exists("<", oldest);
  const hasNewer = direction === "after" ? more : boundary !== null ? await exists(">", newest) : false;
  return { rows: page, newer: hasNewer ? newest : null, older: hasOlder ? oldest : null };
}
