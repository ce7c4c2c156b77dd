import { z } from "zod";
import { fieldErrorsFromZod, type FieldErrors } from "./field-errors";
import type { TimeBounds } from "./paging.server";

/**
 * The GET filters of a console list (audit log, security events): read from the URL
 * once, validated with the list's zod schema, and either turned into the list's
 * filters or reported per field, never thrown.
 */

/** The filter form's values as typed: the first value of each parameter, blank meaning "not set". */
export type QueryValues = Record<string, string | undefined>;

export type ListQuery<F> =
  { ok: true; filters: F; values: QueryValues } | { ok: false; errors: FieldErrors; values: QueryValues };

/** What a list accepts in its URL: the parameter names, their schema, and the filters valid input makes. */
export interface ListQuerySpec<S extends z.ZodType, F> {
  keys: readonly string[];
  schema: S;
  toFilters(input: z.output<S>): F;
}

/** Query-string parameters: only the first value of each counts; blank means "not set". */
export function searchParamsRecord(params: URLSearchParams, keys: readonly string[]): QueryValues {
  const out: QueryValues = {};
  for (const key of keys) {
    const value = params.get(key)?.trim();
    out[key] = value ? value : undefined;
  }
  return out;
}

/** Validates a list's filter parameters. Invalid input is reported per field (fieldErrorsFromZod). */
export function parseListQuery<S extends z.ZodType, F>(params: URLSearchParams, spec: ListQuerySpec<S, F>): ListQuery<F> {
  const values = searchParamsRecord(params, spec.keys);
  const parsed = spec.schema.safeParse(values);
  if (!parsed.success) return { ok: false, errors: fieldErrorsFromZod(parsed.error), values };
  return { ok: true, filters: spec.toFilters(parsed.data), values };
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
export function dateBounds(from: string | undefined, to: string | undefined): TimeBounds {
  const bounds: TimeBounds = {};
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

/** The `from`/`to` check of every list with a date range: `.refine(isOrderedRange, EMPTY_RANGE)`. */
export const isOrderedRange = (f: { from?: string | undefined; to?: string | undefined }): boolean => !isEmptyRange(f.from, f.to);
export const EMPTY_RANGE = { path: ["to"], message: "The end date is before the start date" };
