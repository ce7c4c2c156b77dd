import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { z } from "zod";
import { UtcTime } from "~/components/utc-time";
import { requireOwner, requireSudo } from "~/lib/http/owner-session.server";
import { revokeAllOtherSessions, revokeSession } from "~/lib/auth/session-revoke.server";
import { clearSessionCookie, listSessions } from "~/lib/auth/session.server";
import { readFlash, setFlash } from "~/lib/http/flash.server";
import { parseForm, readForm } from "~/lib/http/forms.server";
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

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { owner, session: current } = await requireOwner(request, context);
  const sessions = await listSessions(context.services.db, owner.id);
  // The confirmation comes only from the flash the revocation itself set: a link cannot claim one.
  const flash = await readFlash(request, context.services.config);
  return data(
    {
      notice: flash.text,
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
    },
    { headers: flash.headers },
  );
}

export async function action({ request, context }: ActionFunctionArgs) {
  const signedIn = await requireOwner(request, context);
  const { session: current, ctx } = signedIn;
  const { services } = context;
  const form = parseForm(SessionActionSchema, await readForm(request));
  if (!form.success) {
    return data({ formError: Object.values(form.fieldErrors)[0] ?? "That request was not valid." }, { status: 400 });
  }

  // Ending any session but this one needs sudo mode (contract §6), one at a time as much
  // as all at once: a session out of sudo mode cannot sign the owner's other browsers out.
  // Signing this browser itself out never needs it (it is what "Sign out" does).
  if (form.data.intent !== "revoke" || form.data.session_id !== current.public_id) requireSudo(request, context, signedIn);

  if (form.data.intent === "revoke") {
    const result = await revokeSession(services, ctx, { current, publicId: form.data.session_id });
    if (!result.ok) return data({ formError: "That session has already ended." }, { status: 404 });
    if (result.wasCurrent) {
      return redirect("/login", { headers: { "Set-Cookie": await clearSessionCookie(services.sessionCookie) } });
    }
    return redirect("/settings/sessions", {
      headers: { "Set-Cookie": await setFlash(services.config, "Signed out 1 session.") },
    });
  }

  const n = await revokeAllOtherSessions(services, ctx, { current });
  const notice = n === 0 ? "There were no other sessions to sign out." : `Signed out ${n} session${n === 1 ? "" : "s"}.`;
  return redirect("/settings/sessions", { headers: { "Set-Cookie": await setFlash(services.config, notice) } });
}

export default function Sessions() {
  const { sessions, notice } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  const others = sessions.filter((s) => !s.current).length;
  return (
    <>
      <h1>Sessions</h1>
      <p className="muted">
        Every browser signed in as you. Revoking a session signs that browser out at once. If you see one you do not recognise,
        revoke it and change your password.
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
