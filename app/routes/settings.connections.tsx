import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { z } from "zod";
import { UtcTime } from "~/components/utc-time";
import { requireOwner } from "~/lib/http/owner-session.server";
import { readFlash, setFlash } from "~/lib/http/flash.server";
import { parseForm, readForm } from "~/lib/http/forms.server";
import { listGrants, revokeGrant } from "~/lib/oauth/oauth.server";
import { describeScope, redirectHost } from "~/lib/oauth/rules";

/**
 * Connected apps (contract §9): each OAuth grant the owner approved, and a revoke
 * button that stops its access and refresh tokens on their next request.
 */
const RevokeSchema = z.object({
  intent: z.literal("revoke", { error: "Unknown action" }),
  grant_id: z
    .string({ error: "Choose a connection" })
    .regex(/^[1-9]\d{0,14}$/, "Choose a connection")
    .transform(Number),
});

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { owner } = await requireOwner(request, context);
  const grants = await listGrants(context.services.db, owner.id);
  const flash = await readFlash(request, context.services.config);
  return data(
    {
      notice: flash.text,
      grants: grants.map((g) => ({
        id: g.id,
        clientName: g.client_name,
        redirectHost: redirectHost(g.redirect_uri),
        scope: g.scope,
        scopeText: describeScope(g.scope),
        createdAt: g.created_at,
        lastUsedAt: g.last_used_at,
        lastUsedIp: g.last_used_ip,
      })),
    },
    { headers: flash.headers },
  );
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { owner, ctx } = await requireOwner(request, context);
  const form = parseForm(RevokeSchema, await readForm(request));
  if (!form.success) {
    return data({ formError: Object.values(form.fieldErrors)[0] ?? "That request was not valid." }, { status: 400 });
  }
  const result = await revokeGrant(context.services, ctx, { ownerId: owner.id, grantId: form.data.grant_id });
  if (!result.ok) return data({ formError: "That connection does not exist or was already revoked." }, { status: 404 });
  const notice = `Disconnected “${result.clientName}”. Its tokens are refused from now on.`;
  return redirect("/settings/connections", { headers: { "Set-Cookie": await setFlash(context.services.config, notice) } });
}

export default function Connections() {
  const { grants, notice } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  return (
    <>
      <h1>Connections</h1>
      <p className="muted">
        MCP clients you allowed through OAuth (for example <code>claude mcp add --transport http preqstation …/mcp</code>).
        Revoking one stops its access at once; it would have to ask you again.
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
      {grants.length === 0 ? (
        <p>No application is connected.</p>
      ) : (
        <div className="table-wrap card">
          <table>
            <caption className="visually-hidden">Connected applications</caption>
            <thead>
              <tr>
                <th scope="col">Application</th>
                <th scope="col">Redirect host</th>
                <th scope="col">Access</th>
                <th scope="col">Connected</th>
                <th scope="col">Last used</th>
                <th scope="col">IP</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {grants.map((g) => (
                <tr key={g.id}>
                  <td>{g.clientName}</td>
                  <td className="mono">{g.redirectHost}</td>
                  <td title={g.scope}>{g.scopeText}</td>
                  <td>
                    <UtcTime iso={g.createdAt} />
                  </td>
                  <td>
                    <UtcTime iso={g.lastUsedAt} />
                  </td>
                  <td className="mono">{g.lastUsedIp ?? "—"}</td>
                  <td>
                    <Form method="post">
                      <input type="hidden" name="intent" value="revoke" />
                      <input type="hidden" name="grant_id" value={g.id} />
                      <button type="submit" className="danger small" disabled={busy} aria-label={`Revoke ${g.clientName}`}>
                        Revoke
                      </button>
                    </Form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

export const meta: MetaFunction = () => [{ title: "Connections · PreqStation" }];
