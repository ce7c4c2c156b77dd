import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { queryString } from "~/components/pager";
import { requireOwner } from "~/lib/http/owner-session.server";
import { listSessions } from "~/lib/auth/session.server";
import { countRecentProblems } from "~/lib/security/events-query.server";

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { owner } = await requireOwner(request, context);
  const { db } = context.services;
  const problems = await countRecentProblems(db);
  const sessions = await listSessions(db, owner.id);
  return { problems, sessionCount: sessions.length };
}

export default function SettingsOverview() {
  const { problems, sessionCount } = useLoaderData<typeof loader>();
  const total = problems.failure + problems.blocked;
  return (
    <>
      <h1>Settings</h1>
      <section className="card" aria-labelledby="glance-heading">
        <h2 id="glance-heading">Last 24 hours</h2>
        <p className={total > 0 ? "alert warning" : "alert success"} role="status">
          {total === 0
            ? "No failed or blocked security events in the last 24 hours."
            : `${problems.failure} failed and ${problems.blocked} blocked security event${total === 1 ? "" : "s"} in the last 24 hours.`}
        </p>
        <ul>
          <li>
            <Link to={`/settings/security-events${queryString({ outcome: "failure", from: problems.since })}`}>
              Failed events in the last 24 hours
            </Link>
          </li>
          <li>
            <Link to={`/settings/security-events${queryString({ outcome: "blocked", from: problems.since })}`}>
              Blocked events in the last 24 hours
            </Link>
          </li>
        </ul>
      </section>

      <section className="card" aria-labelledby="pages-heading">
        <h2 id="pages-heading">Manage</h2>
        <ul>
          <li>
            <Link to="/settings/api-keys">API Keys</Link> — tokens for agents and scripts; check their expiry.
          </li>
          <li>
            <Link to="/settings/audit-logs">Audit Logs</Link> — every change, who made it, from where.
          </li>
          <li>
            <Link to="/settings/security-events">Security Events</Link> — sign-ins, refused tokens, throttling.
          </li>
          <li>
            <Link to="/settings/sessions">Sessions</Link> — {sessionCount} signed-in browser{sessionCount === 1 ? "" : "s"}.
          </li>
          <li>
            <Link to="/settings/security">Security</Link> — change your password.
          </li>
        </ul>
      </section>

      <section className="card" aria-labelledby="chain-heading">
        <h2 id="chain-heading">Audit log integrity</h2>
        <p className="muted">
          Recompute the audit log&apos;s hash chain now (the same check as <code>npx preqstation audit verify</code>).
        </p>
        <Form method="get" action="/settings/audit-logs">
          <button type="submit" name="verify" value="1" className="secondary">
            Verify chain
          </button>
        </Form>
      </section>
    </>
  );
}

export const meta: MetaFunction = () => [{ title: "Settings · PreqStation" }];
