import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { z } from "zod";
import { UtcTime } from "~/components/utc-time";
import { appendAudit } from "~/lib/audit/log.server";
import { ownerAuditContext, requestMeta, requireOwner } from "~/lib/auth/owner-session.server";
import { transaction } from "~/lib/db.server";
import { parseForm, readForm, requirePost } from "~/lib/http/forms.server";
import { recentSuccess } from "~/lib/security/events-query.server";
import { recordSecurityEvent } from "~/lib/security/events.server";
import { clearSessionCookie, listSessions, revokeOtherSessions, revokeSessionByPublicId } from "~/lib/auth/session.server";
import { formatDevice } from "~/lib/http/user-agent";

const SessionActionSchema = z.discriminatedUnion(
  "intent",
  [
    z.object({
      intent: z.literal("revoke"),
      session_id: z.string({ error: "Choose a session" }).regex(/^[A-Za-z0-9_-]{1,64}$/, "That is not a session id"),
    }),
    z.object({ intent: z.literal("revoke-others") }),
  ],
  { error: "Unknown action" },
);

const CountSchema = z.number().int().min(1);

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { owner, session: current } = await requireOwner(request, context);
  const { db } = context.services;
  const sessions = await listSessions(db, owner.id);
  const others = sessions.filter((s) => s.id_hash !== current.id_hash).length;
  // `?revoked` only asks for a confirmation; what it says comes from the recorded
  // event (or, for "none", from the list itself), so a crafted link cannot claim
  // a revocation that did not happen.
  const param = new URL(request.url).searchParams.get("revoked");
  let notice: string | null = null;
  if (param === "0") {
    if (others === 0) notice = "There were no other sessions to sign out.";
  } else if (param !== null) {
    const event = await recentSuccess(db, "session_revoked");
    if (event) {
      const count = CountSchema.safeParse(event.details.count);
      const n = count.success ? count.data : 1;
      notice = `Signed out ${n} session${n === 1 ? "" : "s"}.`;
    }
  }
  return {
    notice,
    sessions: sessions.map((s) => ({
      id: s.public_id,
      current: s.id_hash === current.id_hash,
      device: formatDevice(s.user_agent),
      userAgent: s.user_agent,
      ip: s.ip,
      signedInAt: s.created_at,
      lastSeenAt: s.last_seen_at,
      expiresAt: s.idle_expires_at < s.absolute_expires_at ? s.idle_expires_at : s.absolute_expires_at,
    })),
  };
}


type ActionData = { formError: string };

export async function action({ request, context }: ActionFunctionArgs) {
  const { owner, session: current } = await requireOwner(request, context);
  requirePost(request);
  const { db, sessionCookie } = context.services;
  const form = parseForm(SessionActionSchema, await readForm(request));
  if (!form.success) {
    return data<ActionData>({ formError: Object.values(form.fieldErrors)[0] ?? "That request was not valid." }, { status: 400 });
  }
  const meta = requestMeta(request, context);
  const audit = ownerAuditContext(request, context, owner);
  const event = { ip: meta.ip, userAgent: meta.userAgent, path: meta.path };

  if (form.data.intent === "revoke") {
    const publicId = form.data.session_id;
    // The row is deleted, so the cookie that carries it is refused on its very next request.
    const revoked = await transaction(db, async (trx) => {
      const row = await revokeSessionByPublicId(trx, owner.id, publicId);
      if (!row) return null;
      const wasCurrent = row.id_hash === current.id_hash;
      await recordSecurityEvent(trx, {
        ...event,
        type: "session_revoked",
        outcome: "success",
        details: { session: publicId, current: wasCurrent, via: "sessions_page" },
      });
      await appendAudit(trx, audit, {
        action: "session.revoke",
        resourceType: "session",
        resourceId: publicId,
        changes: { state: { before: "active", after: "revoked" } },
      });
      return { wasCurrent };
    });
    if (!revoked) return data<ActionData>({ formError: "That session has already ended." }, { status: 404 });
    if (revoked.wasCurrent) {
      return redirect("/login", { headers: { "Set-Cookie": await clearSessionCookie(sessionCookie) } });
    }
    return redirect("/settings/sessions?revoked=1");
  }

  const count = await transaction(db, async (trx) => {
    const others = await trx
      .selectFrom("sessions")
      .select("public_id")
      .where("owner_id", "=", owner.id)
      .where("id_hash", "!=", current.id_hash)
      .orderBy("created_at")
      .execute();
    const n = await revokeOtherSessions(trx, owner.id, current.id_hash);
    if (n === 0) return 0;
    const ids = others.map((o) => o.public_id);
    await recordSecurityEvent(trx, {
      ...event,
      type: "session_revoked",
      outcome: "success",
      details: { sessions: ids, count: n, kept: current.public_id, via: "sessions_page" },
    });
    await appendAudit(trx, audit, {
      action: "session.revoke_others",
      resourceType: "session",
      resourceId: current.public_id,
      changes: { other_sessions: { before: ids, after: [] } },
    });
    return n;
  });
  return redirect(`/settings/sessions?revoked=${count}`);
}

export default function Sessions() {
  const { sessions, notice } = useLoaderData<typeof loader>();
  const actionData = useActionData<ActionData>();
  const busy = useNavigation().state === "submitting";
  const others = sessions.filter((s) => !s.current).length;
  return (
    <>
      <h1>Sessions</h1>
      <p className="muted">
        Every browser signed in as you. Revoking a session signs that browser out at once. If you see one you do not
        recognise, revoke it and change your password.
      </p>
      {actionData?.formError ? (
        <div className="alert error" role="alert">
          {actionData.formError}
        </div>
      ) : notice ? (
        <div className="alert success" role="status">
          {notice}
        </div>
      ) : null}

      <div className="table-wrap card">
        <table>
          <caption className="visually-hidden">Active sessions</caption>
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">IP</th>
              <th scope="col">Signed in</th>
              <th scope="col">Last seen</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {sessions.map((s) => (
              <tr key={s.id} aria-current={s.current ? "true" : undefined}>
                <td>
                  <span title={s.userAgent}>{s.device}</span>{" "}
                  {s.current ? <span className="badge active">This session</span> : null}
                </td>
                <td className="mono">{s.ip}</td>
                <td>
                  <UtcTime iso={s.signedInAt} />
                </td>
                <td>
                  <UtcTime iso={s.lastSeenAt} />
                </td>
                <td>
                  <UtcTime iso={s.expiresAt} />
                </td>
                <td>
                  <Form method="post">
                    <input type="hidden" name="intent" value="revoke" />
                    <input type="hidden" name="session_id" value={s.id} />
                    <button
                      type="submit"
                      className="danger small"
                      disabled={busy}
                      aria-label={s.current ? "Revoke this session (sign out)" : `Revoke session: ${s.device}, ${s.ip}`}
                    >
                      {s.current ? "Sign out" : "Revoke"}
                    </button>
                  </Form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      {others > 0 ? (
        <Form method="post">
          <input type="hidden" name="intent" value="revoke-others" />
          <button type="submit" className="danger" disabled={busy}>
            {`Revoke all other sessions (${others})`}
          </button>
        </Form>
      ) : (
        <p className="muted">This is your only session.</p>
      )}
    </>
  );
}

export const meta: MetaFunction = () => [{ title: "Sessions · PreqStation" }];
