/**
 * Reading a JSON text column (a task's acceptance criteria and result, a project's
 * settings, an audit entry's changes, a security event's details, a stored
 * response's headers). The app writes these with JSON.stringify, but a row may
 * predate a rule, be edited by hand or be damaged: reading one must never throw
 * (a page or an API answer would become a 500), so anything that is not JSON of
 * the expected shape reads as the caller's fallback.
 */
import { z } from "zod";

/** The column's value checked against `schema`, or `fallback` when it is NULL, not JSON, or not of that shape. */
export function parseJsonColumn<S extends z.ZodType, F>(
  text: string | null | undefined,
  schema: S,
  fallback: F,
): z.output<S> | F {
  if (text === null || text === undefined) return fallback;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fallback;
  }
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : fallback;
}

/**
 * Any JSON object (not an array, not null), its values unchecked and passed through
 * as parsed: every own key is kept (a record schema would copy it and drop `__proto__`,
 * hiding such a key from an audit page that must show what is stored).
 */
export const JsonObjectSchema = z.custom<Record<string, unknown>>(
  (value) => typeof value === "object" && value !== null && !Array.isArray(value),
);
/** Any JSON value at all. */
export const AnyJsonSchema = z.unknown();
/** An array of strings. */
export const StringListSchema = z.array(z.string());
/** An object of string values (stored response headers). */
export const StringRecordSchema = z.record(z.string(), z.string());
