import type { ReactNode } from "react";
import { Form, Link } from "@remix-run/react";
import { dateInputType, FilterField } from "~/components/filter-field";
import { FormAlert } from "~/components/form-alert";
import { Pager, queryString } from "~/components/pager";
import type { ConsoleListData } from "~/lib/http/console-list.server";

/**
 * The console list pages (audit log, security events): a GET filter form, a table of
 * one keyset page, newest first, and the pager. Field names are the URL's parameters,
 * so every state is a link and the page works the same without JavaScript.
 */

/** What the page was asked for: the filters without the cursor, and whether any is set or wrong. */
export function listState(list: Pick<ConsoleListData<unknown>, "values" | "errors">) {
  const filters = Object.fromEntries(Object.entries(list.values).filter(([k]) => k !== "cursor"));
  return {
    filters,
    filtered: Object.values(filters).some(Boolean),
    hasErrors: Object.keys(list.errors).length > 0,
  };
}

/** The filter card: the form's and the cursor's errors above it, the fields, Apply and Clear. */
export function ListFilterForm({
  list,
  headingId,
  path,
  children,
  extra,
}: {
  list: ConsoleListData<unknown>;
  headingId: string;
  /** The page's own path: "Clear filters" goes there. */
  path: string;
  /** The `FilterField`s, laid out in one row. */
  children: ReactNode;
  /** Anything else inside the form (datalists). */
  extra?: ReactNode;
}) {
  const { filters, filtered, hasErrors } = listState(list);
  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>Filter</h2>
      <FormAlert message={list.errors.form} />
      <FormAlert message={list.errors.cursor} />
      <Form method="get" key={JSON.stringify(filters)}>
        <div className="inline-fields">{children}</div>
        {extra}
        <div className="form-actions">
          <button type="submit">Apply filters</button>
          {filtered || hasErrors ? <Link to={path}>Clear filters</Link> : null}
        </div>
      </Form>
    </section>
  );
}

/** The `from` and `to` fields of a list with a date range (UTC; `to` includes its day). */
export function DateRangeFields({ list }: { list: Pick<ConsoleListData<unknown>, "values" | "errors"> }) {
  const { values, errors } = list;
  return (
    <>
      <FilterField label="From (UTC)" name="from" error={errors.from}>
        {(p) => <input {...p} type={dateInputType(values.from)} defaultValue={values.from ?? ""} placeholder="YYYY-MM-DD" />}
      </FilterField>
      <FilterField label="To (UTC, inclusive)" name="to" error={errors.to}>
        {(p) => <input {...p} type={dateInputType(values.to)} defaultValue={values.to ?? ""} placeholder="YYYY-MM-DD" />}
      </FilterField>
    </>
  );
}

/** A table with a hidden caption and column headings; the rows are the caller's `<tr>`s. */
export function ListTable({
  caption,
  columns,
  className = "table-wrap",
  children,
}: {
  caption: string;
  columns: readonly string[];
  className?: string;
  children: ReactNode;
}) {
  return (
    <div className={className}>
      <table>
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c} scope="col">
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/**
 * The list section: its heading, what the list says when it is empty or the filters are
 * wrong, the table, the pager and, past the first page, the way back to the newest rows.
 */
export function ListSection<Row>({
  list,
  headingId,
  path,
  noun,
  caption,
  columns,
  pagerLabel,
  intro,
  row,
}: {
  list: ConsoleListData<Row>;
  headingId: string;
  path: string;
  /** What the rows are, in the plural: "entries", "events". */
  noun: string;
  caption: string;
  columns: readonly string[];
  pagerLabel: string;
  /** Shown under the heading (export links). */
  intro?: ReactNode;
  row: (row: Row) => ReactNode;
}) {
  const { filters, filtered, hasErrors } = listState(list);
  const { values, rows, newerCursor, olderCursor } = list;
  const Noun = noun.charAt(0).toUpperCase() + noun.slice(1);
  return (
    <section aria-labelledby={headingId}>
      <h2 id={headingId}>{filtered ? `Matching ${noun}` : Noun}</h2>
      {intro}
      {hasErrors ? (
        <p className="muted">{`Fix the filters above to see ${noun}.`}</p>
      ) : rows.length === 0 ? (
        <p className="muted">
          {values.cursor ? `No more ${noun}.` : filtered ? `No ${noun} match these filters.` : `No ${noun} yet.`}
        </p>
      ) : (
        <ListTable caption={caption} columns={columns}>
          {rows.map(row)}
        </ListTable>
      )}
      <Pager
        label={pagerLabel}
        previousHref={newerCursor ? `${path}${queryString({ ...filters, cursor: newerCursor })}` : null}
        nextHref={olderCursor ? `${path}${queryString({ ...filters, cursor: olderCursor })}` : null}
      />
      {values.cursor && !newerCursor ? (
        <p>
          <Link to={`${path}${queryString(filters)}`}>{`Back to the newest ${noun}`}</Link>
        </p>
      ) : null}
    </section>
  );
}
