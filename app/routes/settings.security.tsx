import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { z } from "zod";
import { FormAlert } from "~/components/form-alert";
import { Field } from "~/components/field";
import { guardAttempt, minutesText } from "~/lib/auth/attempt-guard.server";
import { requireOwner } from "~/lib/auth/owner-session.server";
import { NewPasswordSchema } from "~/lib/auth/owner.server";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "~/lib/auth/password-policy";
import { changePassword } from "~/lib/auth/password-change.server";
import { readFlash, setFlash } from "~/lib/http/flash.server";
import { inputProps, parseForm, readForm, type FieldErrors, retryAfterHeaders } from "~/lib/http/forms.server";

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
  await requireOwner(request, context);
  // The confirmation comes only from the flash the change itself set: a link cannot claim one.
  const flash = await readFlash(request, context.services.config);
  return data(
    {
      notice: flash.text,
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
  const { owner, session, ctx } = await requireOwner(request, context);
  const { services } = context;

  // Wrong current passwords count against the same per-IP (per-/64) budget as failed
  // sign-ins, so a stolen session cannot be used to guess the password at full speed.
  // The attempt is counted before the slow check, so parallel guesses cannot all pass,
  // and given back when it must not count (a form error, the right password).
  const guard = await guardAttempt(services, ctx, { via: "password_change", account: false, cookieHeader: null });
  if (!guard.allowed) {
    return data<Failure>(
      { formError: `Too many wrong passwords from your address. Try again in ${minutesText(guard.retryAfter)}.` },
      { status: 429, headers: { "Retry-After": String(guard.retryAfter) } },
    );
  }

  const form = parseForm(ChangePasswordSchema, await readForm(request));
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
  const at = new Date().toISOString().slice(0, 19).replace("T", " ");
  const notice = `Password changed at ${at} UTC. ${
    n === 0 ? "No other sessions were signed in." : `${n} other session${n === 1 ? " was" : "s were"} signed out.`
  }`;
  return redirect("/settings/security", { headers: { "Set-Cookie": await setFlash(services.config, notice) } });
}

export default function Security() {
  const { notice, fields } = useLoaderData<typeof loader>();
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
    </>
  );
}

export const meta: MetaFunction = () => [{ title: "Security · PreqStation" }];

export const headers = retryAfterHeaders;
