/**
 * The opaque list cursor: the (updated_at, id) of the last task of a page, as
 * base64url JSON. Decoding validates both parts, so a forged or damaged cursor
 * is a clean 400, never a query with garbage in it.
 */
export interface CursorPosition {
  updatedAt: string;
  id: string;
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_CURSOR_LENGTH = 200;

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify({ v: 1, u: position.updatedAt, i: position.id }), "utf8").toString("base64url");
}

/** The position in `cursor`, or null when it is not a cursor this server issued. */
export function decodeCursor(cursor: string): CursorPosition | null {
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const { v, u, i } = value as Record<string, unknown>;
  if (v !== 1 || typeof u !== "string" || typeof i !== "string") return null;
  if (!ISO_UTC.test(u) || Number.isNaN(Date.parse(u)) || new Date(u).toISOString() !== u || !UUID.test(i)) return null;
  return { updatedAt: u, id: i };
}
