import { data } from "@remix-run/node";
import type { FieldErrors } from "../domain/field-errors";
import type { ListQuery, QueryValues } from "../domain/list-query";

/**
 * The loader half of a console list page (audit log, security events): the filter
 * form's values and errors and one keyset page of rows, in the shape the
 * `ConsoleList` components (app/components/console-list.tsx) take.
 */
export interface ConsoleListData<Row> {
  values: QueryValues;
  errors: FieldErrors;
  rows: Row[];
  newerCursor: string | null;
  olderCursor: string | null;
}

interface KeysetPage {
  newerCursor: string | null;
  olderCursor: string | null;
}

/**
 * Reads the page the parsed filters ask for (`read`) and the rows the page shows of it
 * (`rows`); invalid filters read nothing and come back as field errors.
 */
export async function readConsoleList<F, P extends KeysetPage, Row>(
  query: ListQuery<F>,
  read: (filters: F) => Promise<P>,
  rows: (page: P) => Row[],
): Promise<ConsoleListData<Row>> {
  if (!query.ok) return { values: query.values, errors: query.errors, rows: [], newerCursor: null, olderCursor: null };
  const page = await read(query.filters);
  return {
    values: query.values,
    errors: {},
    rows: rows(page),
    newerCursor: page.newerCursor,
    olderCursor: page.olderCursor,
  };
}

/** The loader's answer: the page with its inline errors (400) when the filters are invalid, else 200. */
export function consoleListResponse<D extends { list: ConsoleListData<unknown> }>(body: D) {
  return data(body, { status: Object.keys(body.list.errors).length > 0 ? 400 : 200 });
}
