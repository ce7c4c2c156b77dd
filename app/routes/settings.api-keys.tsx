import {
  data,
  redirect,
  type ActionFunctionArgs,
  type HeadersFunction,
  type LoaderFunctionArgs,
  type MetaFunction,
} from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { z } from "zod";
import { FormAlert } from "~/components/form-alert";
import { CopyButton } from "~/components/copy-button";
import { Field } from "~/components/field";
import { requireOwner, requireSudo } from "~/lib/http/owner-session.server";
import { readFlash, setFlash } from "~/lib/http/flash.server";
import { inputProps, parseForm, readForm, type FieldErrors } from "~/lib/http/forms.server";
import { createApiToken, listApiTokens, revokeApiToken, TokenNameSchema, type TokenSummary } from "~/lib/tokens/tokens.server";

/** The expiry choices on the form (the CLI accepts any 1–3650 days). */
const EXPIRY_OPTIONS = [
  { value: "", label: "Never" },
  { value: "7", label: "7 days" },
  { value: "30", label: "30 days" },
  { value: "60", label: "60 days" },
  { value: "90", label: "90 days" },
  { value: "365", label: "365 days" },
] as const;
/** `never` is accepted too, for scripts that post the form by hand. */
const EXPIRY_VALUES = ["", "never", "7", "30", "60", "90", "365"] as const;
const SCOPE_OPTIONS = [
  { value: "full", label: "Full access", hint: "read and change projects and tasks" },
  { value: "read", label: "Read only", hint: "GET and HEAD requests only" },
] as const;
/** A token expiring within this window gets a warning badge. */
const EXPIRY_WARNING_MS = 7 * 86_400_000;

const IntentSchema = z.object({ intent: z.enum(["create", "revoke"], { message: "Unknown action" }) });

const CreateTokenSchema = z.object({
  name: TokenNameSchema,
  expires_in_days: z
    .enum(EXPIRY_VALUES, { message: "Choose an expiry from the list" })
    .default("")
    .transform((v) => (v === "" || v === "never" ? null : Number(v))),
  // Absent means full, as on the CLI; anything else but full or read is an error.
  scope: z.enum(["full", "read"], { message: "Choose full access or read only" }).default("full"),
});

const RevokeTokenSchema = z.object({
  token_id: z
    .string({ message: "Missing token" })
    .regex(/^[1-9]\d{0,14}$/, "Missing token")
    .transform(Number),
});

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { owner } = await requireOwner(request, context);
  const now = Date.now();
  const tokens = await listApiTokens(context.services.db, owner.id, now);
  const flash = await readFlash(request, context.services.config);
  return data(
    { tokens, now, notice: flash.text, fields: { name: inputProps(CreateTokenSchema, "name") } },
    { headers: flash.headers },
  );
}

type CreateFailure = {
  intent: "create";
  fieldErrors: FieldErrors;
  values: { name: string; expires_in_days: string; scope: string };
};

export async function action({ request, context }: ActionFunctionArgs) {
  const signedIn = await requireOwner(request, context);
  const { owner, ctx } = signedIn;
  const { services } = context;
  const { config } = services;
  const form = await readForm(request);
  const intent = parseForm(IntentSchema, form);
  if (!intent.success) {
    return data(
      { intent: null, formError: "That request could not be understood. Reload the page and try again." },
      { status: 400 },
    );
  }

  if (intent.data.intent === "create") {
    // A new token outlives the session: minting one needs sudo mode (contract §6).
    requireSudo(request, context, signedIn);
    const parsed = parseForm(CreateTokenSchema, form);
    if (!parsed.success) {
      return data<CreateFailure>(
        {
          intent: "create",
          fieldErrors: parsed.fieldErrors,
          values: {
            name: (form?.get("name") ?? "").slice(0, 200),
            expires_in_days: form?.get("expires_in_days") ?? "",
            scope: form?.get("scope") ?? "full",
          },
        },
        { status: 400 },
      );
    }
    const { plaintext, summary } = await createApiToken(services, ctx, {
      ownerId: owner.id,
      name: parsed.data.name,
      scope: parsed.data.scope,
      expiresInDays: parsed.data.expires_in_days,
    });
    // Shown once, on this response only: never in a URL, never cached.
    return data(
      { intent: "create" as const, created: { token: plaintext, name: summary.name, hint: summary.hint } },
      { headers: { "Cache-Control": "no-store" } },
    );
  }

  const parsed = parseForm(RevokeTokenSchema, form);
  if (!parsed.success) return data({ intent: "revoke" as const, formError: "Choose a token to revoke." }, { status: 400 });
  const result = await revokeApiToken(services, ctx, { ownerId: owner.id, id: parsed.data.token_id });
  if (result.outcome === "not_found") {
    return data({ intent: "revoke" as const, formError: "That token does not exist." }, { status: 404 });
  }
  const notice = `Token “${result.summary.name}” revoked. Requests with it are refused from now on.`;
  throw redirect("/settings/api-keys", { headers: { "Set-Cookie": await setFlash(config, notice) } });
}

export default function ApiKeys() {
  const { tokens, now, notice, fields } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const navigation = useNavigation();
  const creating = navigation.state === "submitting" && navigation.formData?.get("intent") === "create";
  const created = actionData && "created" in actionData ? actionData.created : null;
  const createErrors = actionData && "fieldErrors" in actionData ? actionData : null;
  const formError = actionData && "formError" in actionData ? actionData.formError : null;

  return (
    <>
      <h1>API Keys</h1>
      <p className="muted">
        Agents send a token as <code>Authorization: Bearer preq_…</code>. Only a hash of each token is stored.{" "}
        <a href="#new-token">New token</a>
      </p>

      {created ? (
        <div className="alert success" role="status">
          <p>
            <strong>Token “{created.name}” created.</strong> Copy it now, it will not be shown again.
          </p>
          <code className="secret" aria-label="New API token">
            {created.token}
          </code>
          <div className="form-actions">
            <CopyButton value={created.token} label="Copy token" />
          </div>
        </div>
      ) : null}
      {notice && !actionData ? (
        <div className="alert success" role="status">
          {notice}
        </div>
      ) : null}
      <FormAlert message={formError} />

      <section className="card" id="new-token" aria-labelledby="new-token-title">
        <h2 id="new-token-title">New token</h2>
        {/* Keyed on the created token so the form is emptied after each success. */}
        <Form method="post" noValidate key={created?.hint ?? "new"}>
          <input type="hidden" name="intent" value="create" />
          <Field
            label="Name"
            {...fields.name}
            autoComplete="off"
            hint="What uses it, e.g. local-dev or claude-code-prod."
            defaultValue={createErrors?.values.name}
            error={createErrors?.fieldErrors.name}
          />
          <div className="inline-fields">
            <div>
              <label htmlFor="field-expires_in_days">Expires</label>
              <select
                id="field-expires_in_days"
                name="expires_in_days"
                defaultValue={createErrors?.values.expires_in_days ?? ""}
                aria-invalid={createErrors?.fieldErrors.expires_in_days ? true : undefined}
                aria-describedby={createErrors?.fieldErrors.expires_in_days ? "field-expires_in_days-error" : undefined}
              >
                {EXPIRY_OPTIONS.map((o) => (
                  <option key={o.value} value={o.value}>
                    {o.label}
                  </option>
                ))}
              </select>
              {createErrors?.fieldErrors.expires_in_days ? (
                <p className="field-error" id="field-expires_in_days-error">
                  {createErrors.fieldErrors.expires_in_days}
                </p>
              ) : null}
            </div>
            <fieldset aria-describedby={createErrors?.fieldErrors.scope ? "field-scope-error" : undefined}>
              <legend>Scope</legend>
              {SCOPE_OPTIONS.map((o) => (
                <label key={o.value}>
                  <input
                    type="radio"
                    name="scope"
                    value={o.value}
                    defaultChecked={(createErrors?.values.scope ?? "full") === o.value}
                  />{" "}
                  {o.label} <span className="muted">({o.hint})</span>
                </label>
              ))}
              {createErrors?.fieldErrors.scope ? (
                <p className="field-error" id="field-scope-error">
                  {createErrors.fieldErrors.scope}
                </p>
              ) : null}
            </fieldset>
          </div>
          <div className="form-actions">
            <button type="submit" disabled={creating}>
              {creating ? "Creating…" : "Create"}
            </button>
          </div>
        </Form>
      </section>

      <section aria-labelledby="tokens-title">
        <h2 id="tokens-title">Tokens</h2>
        {tokens.length === 0 ? (
          <p className="muted">No tokens yet. Create one above for each agent or script.</p>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Token</th>
                  <th scope="col">Scope</th>
                  <th scope="col">Created</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Last used</th>
                  <th scope="col">Status</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {tokens.map((t) => (
                  <TokenRow key={t.id} token={t} now={now} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}

function TokenRow({ token, now }: { token: TokenSummary; now: number }) {
  const expiresSoon =
    token.status === "active" && token.expires_at !== null && Date.parse(token.expires_at) - now <= EXPIRY_WARNING_MS;
  return (
    <tr>
      <th scope="row">{token.name}</th>
      <td>
        <code>{token.hint}</code>
      </td>
      <td>{token.scope === "full" ? "full" : "read"}</td>
      <td>
        <Time iso={token.created_at} />
      </td>
      <td>
        {token.expires_at ? <Time iso={token.expires_at} /> : "never"}
        {expiresSoon ? (
          <>
            {" "}
            <span className="badge warning">expires soon</span>
          </>
        ) : null}
      </td>
      <td>
        {token.last_used_at ? (
          <>
            <Time iso={token.last_used_at} />
            <br />
            <span className="muted">{token.last_used_ip}</span>
          </>
        ) : (
          <span className="muted">never</span>
        )}
      </td>
      <td>
        <span className={`badge ${token.status}`}>{token.status}</span>
      </td>
      <td>
        <div>
          <Link to={`/settings/audit-logs?actor=token:${token.id}`} aria-label={`Audit log for ${token.name}`}>
            Audit log
          </Link>
          {token.status !== "revoked" ? (
            <Form
              method="post"
              onSubmit={(event) => {
                if (!window.confirm(`Revoke the token “${token.name}”? Agents using it are refused from the next request on.`)) {
                  event.preventDefault();
                }
              }}
            >
              <input type="hidden" name="intent" value="revoke" />
              <input type="hidden" name="token_id" value={token.id} />
              <button type="submit" className="danger small" aria-label={`Revoke ${token.name}`}>
                Revoke
              </button>
            </Form>
          ) : null}
        </div>
      </td>
    </tr>
  );
}

/** A UTC time, rendered the same on the server and in the browser (no hydration mismatch). */
function Time({ iso }: { iso: string }) {
  return <time dateTime={iso}>{`${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`}</time>;
}

export const meta: MetaFunction = () => [{ title: "API Keys · PreqStation" }];

/** The page can show a new token: never cache it anywhere. */
export const headers: HeadersFunction = () => ({ "Cache-Control": "no-store" });
