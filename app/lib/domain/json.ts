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

/**
 * Keys that name JavaScript's prototype machinery. JSON.parse keeps `__proto__` as an
 * own property, which object spreads and schema parsers then drop or, worse, treat as
 * the prototype; none is a field of any body PreqStation reads (the API, MCP, the WebAuthn endpoints), so a
 * body carrying one is refused.
 */
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

interface Visit {
  value: unknown;
  key: string | number;
  parent: Visit | null;
}

/**
 * The path of the first forbidden key at any depth, or null. Iterative, with each
 * visit linked to its parent (the path is built only for the answer), so neither
 * the stack nor the time grows faster than the body: 1 MiB of `[` stays linear.
 */
export function forbiddenKeyPath(root: unknown): (string | number)[] | null {
  const pathOf = (visit: Visit | null, last: string): (string | number)[] => {
    const path: (string | number)[] = [last];
    for (let v = visit; v && v.parent; v = v.parent) path.push(v.key);
    return path.reverse();
  };
  const stack: Visit[] = [{ value: root, key: "", parent: null }];
  while (stack.length > 0) {
    const visit = stack.pop()!;
    const { value } = visit;
    if (value === null || typeof value !== "object") continue;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i] as unknown, key: i, parent: visit });
      continue;
    }
    const keys = Object.keys(value);
    const bad = keys.find((k) => FORBIDDEN_KEYS.has(k));
    if (bad !== undefined) return pathOf(visit, bad);
    for (let i = keys.length - 1; i >= 0; i--) {
      stack.push({ value: (value as Record<string, unknown>)[keys[i]!], key: keys[i]!, parent: visit });
    }
  }
  return null;
}
