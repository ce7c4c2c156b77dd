import { data, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { useActionData, useLoaderData } from "@remix-run/react";
import { getOwnerSession, requireOwner, requireSudo } from "~/lib/http/owner-session.server";
import { readForm } from "~/lib/http/forms.server";
import {
  authorizeRequestProblem,
  authorizeUrl,
  clientRedirect,
  readAuthorizeParams,
  repeatedParameter,
  type AuthorizeParams,
} from "~/lib/http/oauth.server";
import { FORM_ACTION_ORIGIN_HEADER } from "~/lib/http/security-headers.server";
import { approveAuthorization, checkAuthorizationClient, type ClientCheck } from "~/lib/oauth/oauth.server";
import { describeScope, normaliseScope, redirectHost, scopeAllowsWrite } from "~/lib/oauth/rules";

/**
 * The authorization endpoint (contract §9): the owner's consent page. The client and
 * its redirect URI are checked first; an unknown client or an unregistered redirect
 * URI is an error page here, never a redirect. Other bad parameters go back to the
 * (now trusted) redirect URI as RFC 6749 errors. The page needs sudo mode, as creating
 * a token does; Allow and Deny are a plain form (no JavaScript), same-origin checked.
 */

type ErrorPage = { kind: "error"; title: string; message: string };
/** A cross-site arrival without a session: load the same URL again from this origin (see the loader). */
type HopPage = { kind: "hop" };
type ConsentPage = {
  kind: "consent";
  clientName: string;
  redirectHost: string;
  redirectUri: string;
  scope: string;
  scopeText: string;
  writes: boolean;
  fields: AuthorizeParams;
  /** Where the form posts: the same request again, so a failed action renders this page's loader as it was. */
  formAction: string;
};

const CLIENT_ERRORS: Record<Exclude<ClientCheck, { ok: true }>["reason"], ErrorPage> = {
  unknown_client: {
    kind: "error",
    title: "Unknown application",
    message:
      "The application that sent you here is not registered with PreqStation (or its registration expired). Start the connection again from the application.",
  },
  unregistered_redirect_uri: {
    kind: "error",
    title: "Unregistered redirect address",
    message:
      "The application asked to send you back to an address it did not register. Nothing was shared. Start the connection again from the application.",
  },
};

function errorPage(page: ErrorPage, status = 400) {
  return data<ErrorPage>(page, { status, headers: { "Cache-Control": "no-store" } });
}

export async function loader({ request, context }: LoaderFunctionArgs) {
  // The session cookie is SameSite=Strict, so a browser sent here by another site (a web
  // connector) leaves it out. Before asking a possibly signed-in owner to sign in again, the
  // page reloads itself once: that navigation starts on this origin, and the cookie goes with it.
  if (request.headers.get("sec-fetch-site") === "cross-site" && !(await getOwnerSession(request, context))) {
    return data<HopPage>({ kind: "hop" }, { headers: { "Cache-Control": "no-store" } });
  }
  const signedIn = await requireOwner(request, context);
  const url = new URL(request.url);
  const p = readAuthorizeParams(url.searchParams);
  const checked = await checkAuthorizationClient(
    context.services.db,
    { clientId: p.client_id, redirectUri: p.redirect_uri },
    signedIn.ctx,
  );
  if (!checked.ok) return errorPage(CLIENT_ERRORS[checked.reason]);
  const fields = { ...p, redirect_uri: checked.redirectUri };
  const repeated = repeatedParameter(url.searchParams);
  if (repeated)
    throw clientRedirect(
      fields.redirect_uri,
      { error: "invalid_request", error_description: `${repeated.slice(0, 40)} was sent more than once` },
      p.state,
      url.origin,
    );
  const problem = authorizeRequestProblem(fields, url.origin);
  if (problem)
    throw clientRedirect(
      fields.redirect_uri,
      { error: problem.error, error_description: problem.description },
      p.state,
      url.origin,
    );
  requireSudo(request, context, signedIn, authorizeUrl(fields));

  const scope = normaliseScope(fields.scope)!;
  return data<ConsentPage>(
    {
      kind: "consent",
      clientName: checked.client.client_name,
      redirectHost: redirectHost(fields.redirect_uri),
      redirectUri: fields.redirect_uri,
      scope,
      scopeText: describeScope(scope),
      writes: scopeAllowsWrite(scope),
      fields,
      formAction: authorizeUrl(fields),
    },
    // Allow and Deny answer with a redirect to the client: the form may go there.
    { headers: { [FORM_ACTION_ORIGIN_HEADER]: new URL(fields.redirect_uri).origin, "Cache-Control": "no-store" } },
  );
}

export async function action({ request, context }: ActionFunctionArgs) {
  const signedIn = await requireOwner(request, context);
  const form = await readForm(request);
  if (!form) return errorPage({ kind: "error", title: "Bad request", message: "That request could not be understood." });
  const p = readAuthorizeParams(form);
  const origin = new URL(request.url).origin;
  const checked = await checkAuthorizationClient(
    context.services.db,
    { clientId: p.client_id, redirectUri: p.redirect_uri },
    signedIn.ctx,
  );
  if (!checked.ok) return errorPage(CLIENT_ERRORS[checked.reason]);
  const fields = { ...p, redirect_uri: checked.redirectUri };
  const problem = authorizeRequestProblem(fields, origin);
  if (problem)
    return clientRedirect(fields.redirect_uri, { error: problem.error, error_description: problem.description }, p.state, origin);
  requireSudo(request, context, signedIn, authorizeUrl(fields));

  const decision = form.get("decision");
  if (decision === "deny") {
    return clientRedirect(
      fields.redirect_uri,
      { error: "access_denied", error_description: "The owner denied the request" },
      p.state,
      origin,
    );
  }
  if (decision !== "allow") return errorPage({ kind: "error", title: "Bad request", message: "Choose Allow or Deny." });

  const approved = await approveAuthorization(context.services, signedIn.ctx, {
    ownerId: signedIn.owner.id,
    clientId: fields.client_id,
    redirectUri: fields.redirect_uri,
    scope: fields.scope,
    codeChallenge: fields.code_challenge,
  });
  if (!approved.ok) {
    if (approved.reason === "invalid_scope") {
      return clientRedirect(fields.redirect_uri, { error: "invalid_scope", error_description: "Unknown scope" }, p.state, origin);
    }
    return errorPage(CLIENT_ERRORS[approved.reason]);
  }
  return clientRedirect(fields.redirect_uri, { code: approved.code }, p.state, origin);
}

export default function Authorize() {
  const loaded = useLoaderData<typeof loader>() as ErrorPage | ConsentPage | HopPage;
  const acted = useActionData<typeof action>() as ErrorPage | undefined;
  const page = acted ?? loaded;
  if (page.kind === "hop") {
    return (
      <main className="narrow">
        <div className="card">
          <p>Checking your sign-in…</p>
        </div>
      </main>
    );
  }
  if (page.kind === "error") {
    return (
      <main className="narrow">
        <div className="card">
          <h1>{page.title}</h1>
          <div className="alert error" role="alert">
            <p>{page.message}</p>
          </div>
          <p>
            <a href="/">Back to PreqStation</a>
          </p>
        </div>
      </main>
    );
  }
  return (
    <main className="narrow">
      <div className="card">
        <h1>Connect {page.clientName}?</h1>
        <p>
          <strong>{page.clientName}</strong> wants to use PreqStation through MCP on your behalf.
        </p>
        <dl>
          <dt>Application</dt>
          <dd>{page.clientName}</dd>
          <dt>Sends you back to</dt>
          <dd>
            <code>{page.redirectHost}</code>
          </dd>
          <dt>It may</dt>
          <dd>
            {page.scopeText} (<code>{page.scope}</code>)
          </dd>
        </dl>
        <p className="muted">
          {page.writes
            ? "It can create, change and delete tasks and projects, like a full-access API token."
            : "It can only read, like a read-only API token."}{" "}
          Access lasts until you revoke it under Settings → Connections.
        </p>
        <form method="post" action={page.formAction} className="form-actions">
          {Object.entries(page.fields).map(([name, value]) => (
            <input key={name} type="hidden" name={name} value={value} />
          ))}
          <button type="submit" name="decision" value="allow">
            Allow
          </button>{" "}
          <button type="submit" name="decision" value="deny" className="secondary">
            Deny
          </button>
        </form>
      </div>
    </main>
  );
}

export const headers: HeadersFunction = ({ loaderHeaders, actionHeaders }) => {
  const h = new Headers({ "Cache-Control": "no-store" });
  const origin = actionHeaders.get(FORM_ACTION_ORIGIN_HEADER) ?? loaderHeaders.get(FORM_ACTION_ORIGIN_HEADER);
  if (origin) h.set(FORM_ACTION_ORIGIN_HEADER, origin);
  return h;
};

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: "Connect an application · PreqStation" },
  // The hop: reload this same URL at once (no JavaScript needed).
  ...((data as { kind?: string } | undefined)?.kind === "hop" ? [{ httpEquiv: "refresh", content: "0" }] : []),
];
