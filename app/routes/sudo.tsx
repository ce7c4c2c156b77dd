import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { z } from "zod";
import { FormAlert } from "~/components/form-alert";
import { Field } from "~/components/field";
import { PasskeyAuthenticate } from "~/components/passkey";
import { guardAttempt, minutesText } from "~/lib/auth/attempt-guard.server";
import { requireOwner, safeRedirectPath } from "~/lib/http/owner-session.server";
import { MAX_PASSWORD_LENGTH } from "~/lib/auth/password-policy";
import { reauthenticate } from "~/lib/auth/reauthenticate.server";
import { getTwoFactorStatus } from "~/lib/auth/two-factor/totp-factor.server";
import { inputProps, parseForm, readForm, type FieldErrors, retryAfterHeaders } from "~/lib/http/forms.server";

const SudoSchema = z.object({
  password: z.string().min(1, "Enter your password").max(MAX_PASSWORD_LENGTH, "Password is too long"),
  code: z
    .string()
    .trim()
    .min(1, "Enter the code from your authenticator app, or a recovery code")
    .max(32, "That code is too long")
    .optional(),
  redirectTo: z.string().max(2048).optional(),
});

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { owner } = await requireOwner(request, context);
  const status = await getTwoFactorStatus(context.services.db, owner.id);
  return {
    email: owner.email,
    redirectTo: safeRedirectPath(new URL(request.url).searchParams.get("redirectTo"), "/settings"),
    totpEnabled: status.totpEnabled,
    passkeys: status.passkeys,
    fields: {
      password: inputProps(SudoSchema, "password"),
      code: { ...inputProps(SudoSchema, "code"), required: status.totpEnabled },
    },
  };
}

type Failure = { fieldErrors?: FieldErrors; formError?: string };

const MESSAGES: Record<string, string> = {
  wrong_password: "That password is not correct.",
  code_required: "Enter the code from your authenticator app, or a recovery code.",
  wrong_code: "That code is not correct.",
  replayed: "That code was already used. Wait for the next one.",
  malformed: "Enter the 6-digit code from your authenticator app, or a recovery code (xxxxx-xxxxx).",
  unreadable_secret:
    "Your second factor cannot be checked: this server's data key (DATA_KEY or the data-key file) is not the one it was enrolled with. Restore it, or reset the second factor with `npx preqstation owner 2fa reset`.",
  session_ended: "This session has ended. Sign in again.",
};

export async function action({ request, context }: ActionFunctionArgs) {
  const { owner, session, ctx } = await requireOwner(request, context);
  const { services } = context;
  // Throttled like sign-in: counted before the password is checked, given back on success.
  const guard = await guardAttempt(services, ctx, { via: "sudo", account: true, cookieHeader: request.headers.get("cookie") });
  if (!guard.allowed) {
    return data<Failure>(
      { formError: `Too many failed attempts. Try again in ${minutesText(guard.retryAfter)}.` },
      { status: 429, headers: { "Retry-After": String(guard.retryAfter) } },
    );
  }
  const form = parseForm(SudoSchema, await readForm(request));
  if (!form.success) {
    guard.release();
    return data<Failure>({ fieldErrors: form.fieldErrors }, { status: 400 });
  }
  const result = await reauthenticate(services, ctx, {
    owner,
    session,
    password: form.data.password,
    code: form.data.code,
    attempt: guard,
  });
  if (result.ok) return redirect(safeRedirectPath(form.data.redirectTo, "/settings"), 303);
  const status = result.reason === "code_required" ? 400 : result.reason === "unreadable_secret" ? 409 : 401;
  const formError = MESSAGES[result.reason] ?? "That was not accepted.";
  return data<Failure>(result.reason === "code_required" ? { fieldErrors: { code: formError } } : { formError }, { status });
}

export default function Sudo() {
  const { email, redirectTo, totpEnabled, passkeys, fields } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  return (
    <main className="narrow">
      <div className="card">
        <h1>Confirm it is you</h1>
        <p className="muted">
          You are signed in as {email}. This action needs your password{totpEnabled ? " and a code" : ""} again; you will not be
          asked again for a while.
        </p>
        <FormAlert message={actionData?.formError} />
        <Form method="post" noValidate>
          <input type="hidden" name="redirectTo" value={redirectTo} />
          <input type="text" name="username" autoComplete="username" value={email} readOnly hidden />
          <Field
            label="Password"
            {...fields.password}
            type="password"
            autoComplete="current-password"
            autoFocus
            error={actionData?.fieldErrors?.password}
          />
          {totpEnabled ? (
            <Field
              label="Code"
              {...fields.code}
              autoComplete="one-time-code"
              hint="The 6-digit code from your authenticator app, or one of your recovery codes."
              error={actionData?.fieldErrors?.code}
            />
          ) : null}
          <div className="form-actions">
            <button type="submit" disabled={busy}>
              {busy ? "Checking…" : "Confirm"}
            </button>
          </div>
        </Form>
        {passkeys > 0 ? (
          <PasskeyAuthenticate
            optionsUrl="/sudo/passkey/options"
            verifyUrl="/sudo/passkey/verify"
            redirectTo={redirectTo}
            label="Use a passkey instead"
            fallback={<p className="muted">Confirming with a passkey needs JavaScript.</p>}
          />
        ) : null}
      </div>
    </main>
  );
}

export const meta: MetaFunction = () => [{ title: "Confirm it is you · PreqStation" }];

export const headers = retryAfterHeaders;
