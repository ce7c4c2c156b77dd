import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { DateRangeFields, ListFilterForm, ListSection } from "~/components/console-list";
import { FilterField } from "~/components/filter-field";
import { UtcTime } from "~/components/utc-time";
import { requireOwner } from "~/lib/http/owner-session.server";
import { consoleListResponse, readConsoleList, type ConsoleListData } from "~/lib/http/console-list.server";
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
  list: ConsoleListData<EventView>;
}

const PATH = "/settings/security-events";

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireOwner(request, context);
  const query = parseSecurityEventFilters(new URL(request.url).searchParams);
  const options = { types: SECURITY_EVENT_TYPES, outcomes: SECURITY_EVENT_OUTCOMES };
  const list = await readConsoleList(
    query,
    (filters) => listSecurityEventPage(context.services.db, filters),
    (page) => page.events.map(eventView),
  );
  const body: SecurityEventsData = { options, list };
  return consoleListResponse(body);
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
  const { options, list } = useLoaderData<SecurityEventsData>();
  const { values, errors } = list;

  return (
    <>
      <h1>Security Events</h1>
      <p className="muted">
        Sign-in attempts, refused API tokens, permission denials, rate limiting and blocked cross-site requests, newest first.
        Repeats of the same event from the same address within a minute are counted on one row.
      </p>

      <ListFilterForm list={list} headingId="events-filter-heading" path={PATH}>
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
        <DateRangeFields list={list} />
      </ListFilterForm>

      <ListSection
        list={list}
        headingId="events-heading"
        path={PATH}
        noun="events"
        caption="Security events, newest first"
        columns={["Time", "Event", "Outcome", "Count", "IP", "Client", "Path", "Details"]}
        pagerLabel="Security event pages"
        row={(e) => (
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
        )}
      />
    </>
  );
}

export const meta: MetaFunction = () => [{ title: "Security Events · PreqStation" }];
