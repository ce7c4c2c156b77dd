import { data, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { FormAlert } from "~/components/form-alert";
import { dateInputType, FilterField } from "~/components/filter-field";
import { Pager, queryString } from "~/components/pager";
import { UtcTime } from "~/components/utc-time";
import { requireOwner } from "~/lib/http/owner-session.server";
import { SECURITY_EVENT_TYPES } from "~/lib/security/events.server";
import { listSecurityEventPage, parseSecurityEventFilters, SECURITY_EVENT_OUTCOMES } from "~/lib/security/events-query.server";
import { formatDevice } from "~/lib/http/user-agent";
import { JsonObjectSchema, parseJsonColumn } from "~/lib/domain/json";
import type { SecurityEvent } from "../../db/schema";

// GET filters (contract §3): type, outcome, from, to, cursor.

function eventView(e: SecurityEvent) {
  return {
    id: e.id,
    createdAt: e.created_at,
    lastAt: e.last_at,
    count: e.count,
    type: e.type,
    outcome: e.outcome,
    ip: e.ip,
    userAgent: e.user_agent,
    device: formatDevice(e.user_agent),
    path: e.path,
    details: describeDetails(e.details),
  };
}

/** `details` as key/value pairs for display (values as JSON unless they are plain strings). */
function describeDetails(details: string): { key: string; value: string }[] {
  const parsed = parseJsonColumn(details, JsonObjectSchema, null);
  if (parsed === null) return [{ key: "details", value: details }];
  return Object.entries(parsed).map(([key, value]) => ({
    key,
    value: typeof value === "string" ? value : JSON.stringify(value),
  }));
}

type EventView = ReturnType<typeof eventView>;

interface SecurityEventsData {
  options: { types: readonly string[]; outcomes: readonly string[] };
  values: Record<string, string | undefined>;
  errors: Record<string, string>;
  events: EventView[];
  newerCursor: string | null;
  olderCursor: string | null;
}

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireOwner(request, context);
  const parsed = parseSecurityEventFilters(new URL(request.url).searchParams);
  const options = { types: SECURITY_EVENT_TYPES, outcomes: SECURITY_EVENT_OUTCOMES };
  if (!parsed.ok) {
    const invalid: SecurityEventsData = {
      options,
      values: parsed.values,
      errors: parsed.errors,
      events: [],
      newerCursor: null,
      olderCursor: null,
    };
    return data(invalid, { status: 400 });
  }
  const page = await listSecurityEventPage(context.services.db, parsed.filters);
  const ok: SecurityEventsData = {
    options,
    values: parsed.values,
    errors: {},
    events: page.events.map(eventView),
    newerCursor: page.newerCursor,
    olderCursor: page.olderCursor,
  };
  return ok;
}

const TYPE_LABELS: Record<string, string> = {
  login: "Sign-in",
  logout: "Sign-out",
  setup: "Owner setup",
  login_throttled: "Sign-in throttled",
  csrf_blocked: "Cross-site request blocked",
  bearer_auth: "API token refused",
  forbidden: "API permission denied (403)",
  rate_limited: "API rate limited (429)",
  session_revoked: "Session revoked",
  password_changed: "Password change",
};

function typeLabel(type: string): string {
  return TYPE_LABELS[type] ?? type;
}

export default function SecurityEvents() {
  const { options, values, errors, events, newerCursor, olderCursor } = useLoaderData<SecurityEventsData>();
  const filters = Object.fromEntries(Object.entries(values).filter(([k]) => k !== "cursor"));
  const filtered = Object.values(filters).some(Boolean);
  const hasErrors = Object.keys(errors).length > 0;

  return (
    <>
      <h1>Security Events</h1>
      <p className="muted">
        Sign-in attempts, refused API tokens, permission denials, rate limiting and blocked cross-site requests, newest first.
        Repeats of the same event from the same address within a minute are counted on one row.
      </p>

      <section className="card" aria-labelledby="events-filter-heading">
        <h2 id="events-filter-heading">Filter</h2>
        <FormAlert message={errors.cursor} />
        <Form method="get" key={JSON.stringify(filters)}>
          <div className="inline-fields">
            <FilterField label="Type" name="type" error={errors.type}>
              {(p) => (
                <select {...p} defaultValue={errors.type ? "" : (values.type ?? "")}>
                  <option value="">Any type</option>
                  {options.types.map((t) => (
                    <option key={t} value={t}>
                      {typeLabel(t)}
                    </option>
                  ))}
                </select>
              )}
            </FilterField>
            <FilterField label="Outcome" name="outcome" error={errors.outcome}>
              {(p) => (
                <select {...p} defaultValue={errors.outcome ? "" : (values.outcome ?? "")}>
                  <option value="">Any outcome</option>
                  {options.outcomes.map((o) => (
                    <option key={o} value={o}>
                      {o}
                    </option>
                  ))}
                </select>
              )}
            </FilterField>
            <FilterField label="From (UTC)" name="from" error={errors.from}>
              {(p) => (
                <input {...p} type={dateInputType(values.from)} defaultValue={values.from ?? ""} placeholder="YYYY-MM-DD" />
              )}
            </FilterField>
            <FilterField label="To (UTC, inclusive)" name="to" error={errors.to}>
              {(p) => <input {...p} type={dateInputType(values.to)} defaultValue={values.to ?? ""} placeholder="YYYY-MM-DD" />}
            </FilterField>
          </div>
          <div className="form-actions">
            <button type="submit">Apply filters</button>
            {filtered || hasErrors ? <Link to="/settings/security-events">Clear filters</Link> : null}
          </div>
        </Form>
      </section>

      <section aria-labelledby="events-heading">
        <h2 id="events-heading">{filtered ? "Matching events" : "Events"}</h2>
        {hasErrors ? (
          <p className="muted">Fix the filters above to see events.</p>
        ) : events.length === 0 ? (
          <p className="muted">
            {values.cursor ? "No more events." : filtered ? "No events match these filters." : "No events yet."}
          </p>
        ) : (
          <div className="table-wrap">
            <table>
              <caption className="visually-hidden">Security events, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Event</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Count</th>
                  <th scope="col">IP</th>
                  <th scope="col">Client</th>
                  <th scope="col">Path</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {events.map((e) => (
                  <tr key={e.id}>
                    <td>
                      <UtcTime iso={e.createdAt} />
                      {e.count > 1 ? (
                        <div className="muted">
                          last <UtcTime iso={e.lastAt} />
                        </div>
                      ) : null}
                    </td>
                    <td>{typeLabel(e.type)}</td>
                    <td>
                      <span className={`badge ${e.outcome}`}>{e.outcome}</span>
                    </td>
                    <td>{e.count}</td>
                    <td className="mono">{e.ip}</td>
                    <td>
                      {e.userAgent ? (
                        <details>
                          <summary>{e.device}</summary>
                          <span className="mono">{e.userAgent}</span>
                        </details>
                      ) : (
                        <span className="muted">none sent</span>
                      )}
                    </td>
                    <td className="mono">{e.path}</td>
                    <td>
                      {e.details.length ? (
                        <dl>
                          {e.details.map((d) => (
                            <div key={d.key}>
                              <dt className="mono">{d.key}</dt>
                              <dd className="mono">{d.value}</dd>
                            </div>
                          ))}
                        </dl>
                      ) : (
                        <span className="muted">—</span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <Pager
          label="Security event pages"
          previousHref={newerCursor ? `/settings/security-events${queryString({ ...filters, cursor: newerCursor })}` : null}
          nextHref={olderCursor ? `/settings/security-events${queryString({ ...filters, cursor: olderCursor })}` : null}
        />
        {values.cursor && !newerCursor ? (
          <p>
            <Link to={`/settings/security-events${queryString(filters)}`}>Back to the newest events</Link>
          </p>
        ) : null}
      </section>
    </>
  );
}

export const meta: MetaFunction = () => [{ title: "Security Events · PreqStation" }];
