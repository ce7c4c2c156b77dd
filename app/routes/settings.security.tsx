import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { z } from "zod";
import { FormAlert } from "~/components/form-alert";
import { Field } from "~/components/field";
import { guardAttempt, minutesText } from "~/lib/auth/attempt-guard.server";
import { UtcTime } from "~/components/utc-time";
import { requireOwner, requireSudo } from "~/lib/http/owner-session.server";
import { NewPasswordSchema } from "~/lib/auth/owner.server";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "~/lib/auth/password-policy";
import { changePassword } from "~/lib/auth/password-change.server";
import { readFlash, setFlash } from "~/lib/http/flash.server";
import { inputProps, parseForm, readForm, type FieldErrors, retryAfterHeaders } from "~/lib/http/forms.server";
import { listLiveApiTokens, revokeAllApiTokens } from "~/lib/tokens/tokens.server";

const PAGE = "/settings/security";

const ChangePasswordSchema = z
  .object({
    current_password: z
      .string({ error: "Enter your current password" })
      .min(1, "Enter your current password")
      .max(MAX_PASSWORD_LENGTH, "Password is too long"),
    new_password: NewPasswordSchema,
    new_password_confirm: z.string({ error: "Enter the new password again" }),
  })
  .refine((v) => v.new_password === v.new_password_confirm, {
    path: ["new_password_confirm"],
    message: "The new passwords do not match",
  })
  .refine((v) => v.new_password !== v.current_password, {
    path: ["new_password"],
    message: "Choose a password different from the current one",
  });

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { owner } = await requireOwner(request, context);
  // The confirmation comes only from the flash the change itself set: a link cannot claim one.
  const flash = await readFlash(request, context.services.config);
  // A password change or reset does not revoke API tokens: the page lists the live ones.
  const tokens = await listLiveApiTokens(context.services.db, owner.id);
  return data(
    {
      notice: flash.text,
      tokens: tokens.map((t) => ({
        id: t.id,
        name: t.name,
        scope: t.scope,
        createdAt: t.created_at,
        lastUsedAt: t.last_used_at,
      })),
      fields: {
        current_password: inputProps(ChangePasswordSchema, "current_password"),
        new_password: inputProps(ChangePasswordSchema, "new_password"),
        new_password_confirm: inputProps(ChangePasswordSchema, "new_password_confirm"),
      },
    },
    { headers: flash.headers },
  );
}

type Failure = { fieldErrors?: FieldErrors; formError?: string };

export async function action({ request, context }: ActionFunctionArgs) {
  const signedIn = await requireOwner(request, context);
  const { owner, session, ctx } = signedIn;
  const { services } = context;
  const body = await readForm(request);

  if (body?.get("intent") === "revoke-all-tokens") {
    // Revoking every token at once is as sensitive as creating one: sudo mode (contract §6).
    requireSudo(request, context, signedIn, PAGE);
    const n = await revokeAllApiTokens(services, ctx, { ownerId: owner.id });
    const notice =
      n === 0
        ? "No API token was live."
        : `Revoked ${n} API token${n === 1 ? "" : "s"}. Requests with ${n === 1 ? "it" : "them"} are refused from now on.`;
    return redirect(PAGE, { headers: { "Set-Cookie": await setFlash(services.config, notice) } });
  }

  // Wrong current passwords go through the same attempt guard as sign-in and /sudo: per
  // IP (per /64), and account-wide (per device cookie, or against the budget shared by
  // every browser the owner has not signed in from), so a stolen session cannot guess
  // the password at full speed, from one address or many. The attempt is counted before
  // the slow check, so parallel guesses cannot all pass, and given back when it must not
  // count (a form error, the right password).
  const guard = await guardAttempt(services, ctx, {
    via: "password_change",
    account: true,
    cookieHeader: request.headers.get("cookie"),
  });
  if (!guard.allowed) {
    const wait = minutesText(guard.retryAfter);
    const formError =
      guard.scope === "ip"
        ? `Too many wrong passwords from your address. Try again in ${wait}.`
        : guard.scope === "device"
          ? `Too many wrong passwords from this browser. Try again in ${wait}.`
          : `Too many wrong passwords from browsers this account has not signed in from before. Try again in ${wait}.`;
    return data<Failure>({ formError }, { status: 429, headers: { "Retry-After": String(guard.retryAfter) } });
  }

  const form = parseForm(ChangePasswordSchema, body);
  if (!form.success) {
    guard.release();
    return data<Failure>({ fieldErrors: form.fieldErrors }, { status: 400 });
  }

  const result = await changePassword(services, ctx, {
    owner,
    keepSessionIdHash: session.id_hash,
    currentPassword: form.data.current_password,
    newPassword: form.data.new_password,
    attempt: guard,
  });
  if (!result.ok) {
    return data<Failure>({ fieldErrors: { current_password: "That is not your current password" } }, { status: 400 });
  }
  const n = result.otherSessionsEnded;
  const live = (await listLiveApiTokens(services.db, owner.id)).length;
  const at = new Date().toISOString().slice(0, 19).replace("T", " ");
  const notice = `Password changed at ${at} UTC. ${
    n === 0 ? "No other sessions were signed in." : `${n} other session${n === 1 ? " was" : "s were"} signed out.`
  }${live === 0 ? "" : ` ${live} API token${live === 1 ? " still works" : "s still work"}: review ${live === 1 ? "it" : "them"} below.`}`;
  return redirect(PAGE, { headers: { "Set-Cookie": await setFlash(services.config, notice) } });
}

export default function Security() {
  const { notice, fields, tokens } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  const errors = actionData?.fieldErrors;
  return (
    <>
      <h1>Security</h1>
      {notice ? (
        <div className="alert success" role="status">
          {notice}
        </div>
      ) : null}
      <section className="card" aria-labelledby="password-heading">
        <h2 id="password-heading">Change password</h2>
        <p className="muted">
          Every other signed-in browser is signed out when the password changes; this one stays signed in. Locked out? Run{" "}
          <code>npx preqstation owner reset-password --email you@example.com</code> on the server.
        </p>
        <FormAlert message={actionData?.formError} />
        <Form method="post" noValidate>
          <Field
            label="Current password"
            {...fields.current_password}
            type="password"
            autoComplete="current-password"
            error={errors?.current_password}
          />
          <Field
            label="New password"
            {...fields.new_password}
            type="password"
            autoComplete="new-password"
            hint={`At least ${MIN_PASSWORD_LENGTH} characters.`}
            error={errors?.new_password}
          />
          <Field
            label="Confirm new password"
            {...fields.new_password_confirm}
            type="password"
            autoComplete="new-password"
            error={errors?.new_password_confirm}
          />
          <div className="form-actions">
            <button type="submit" disabled={busy}>
              {busy ? "Changing…" : "Change password"}
            </button>
          </div>
        </Form>
      </section>
      <section className="card" aria-labelledby="tokens-heading">
        <h2 id="tokens-heading">API tokens</h2>
        <p className="muted">
          API tokens still work after a password change or a reset: revoke them here if the password was changed because something
          leaked. Revoking needs a recent sign-in or a password confirmation.
        </p>
        {tokens.length === 0 ? (
          <p>No API token is live.</p>
        ) : (
          <>
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Scope</th>
                  <th scope="col">Created</th>
                  <th scope="col">Last used</th>
                </tr>
              </thead>
              <tbody>
                {tokens.map((t) => (
                  <tr key={t.id}>
                    <th scope="row">{t.name}</th>
                    <td>{t.scope}</td>
                    <td>
                      <UtcTime iso={t.createdAt} />
                    </td>
                    <td>{t.lastUsedAt ? <UtcTime iso={t.lastUsedAt} /> : "never"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <Form method="post">
              <input type="hidden" name="intent" value="revoke-all-tokens" />
              <div className="form-actions">
                <button type="submit" className="danger" disabled={busy}>
                  Revoke all API tokens ({tokens.length})
                </button>
              </div>
            </Form>
          </>
        )}
      </section>
    </>
  );
}

export const meta: MetaFunction = () => [{ title: "Security · PreqStation" }];

export const headers = retryAfterHeaders;
