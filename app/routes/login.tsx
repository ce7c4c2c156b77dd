import {
  data,
  redirect,
  type ActionFunctionArgs,
  type HeadersFunction,
  type LoaderFunctionArgs,
  type MetaFunction,
} from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { useEffect } from "react";
import { z } from "zod";
import { FormAlert } from "~/components/form-alert";
import { Field } from "~/components/field";
import { PasskeyAuthenticate } from "~/components/passkey";
import { guardAttempt, minutesText } from "~/lib/auth/attempt-guard.server";
import { newDevice, serializeDeviceCookie } from "~/lib/auth/device-cookie.server";
import { getOwnerSession, safeRedirectPath } from "~/lib/http/owner-session.server";
import { ownerExists } from "~/lib/auth/owner.server";
import { MAX_PASSWORD_LENGTH } from "~/lib/auth/password-policy";
import { readSessionId, serializeSessionCookie } from "~/lib/auth/session.server";
import { completeSignIn, signIn, type SignInResult } from "~/lib/auth/sign-in.server";
import {
  clearLoginChallengeCookie,
  readLoginChallengeId,
  setLoginChallengeCookie,
} from "~/lib/auth/two-factor/challenge-cookie.server";
import { requestContext } from "~/lib/domain/context";
import { inputProps, parseForm, readForm, type FieldErrors } from "~/lib/http/forms.server";

const CodeSchema = z
  .string()
  .trim()
  .min(1, "Enter the code from your authenticator app, or a recovery code")
  .max(32, "That code is too long");

const LoginSchema = z.object({
  email: z.string().trim().min(1, "Enter your email address").max(254, "Email is too long"),
  password: z.string().min(1, "Enter your password").max(MAX_PASSWORD_LENGTH, "Password is too long"),
  // The one-step form of a sign-in with TOTP on: email, password and code together.
  code: CodeSchema.optional(),
  redirectTo: z.string().max(2048).optional(),
});

/** The code step: the `login_challenge` cookie names the challenge the password opened. */
const CodeStepSchema = z.object({ code: CodeSchema, redirectTo: z.string().max(2048).optional() });

export async function loader({ request, context }: LoaderFunctionArgs) {
  const redirectTo = new URL(request.url).searchParams.get("redirectTo");
  if (await getOwnerSession(request, context)) throw redirect(safeRedirectPath(redirectTo));
  if (!(await ownerExists(context.services.db))) throw redirect("/setup");
  return {
    redirectTo: safeRedirectPath(redirectTo, ""),
    fields: {
      email: inputProps(LoginSchema, "email"),
      password: inputProps(LoginSchema, "password"),
      code: inputProps(CodeStepSchema, "code"),
    },
  };
}

type Failure = {
  /** `code`: the password was right and TOTP is on; the page asks for the code. */
  step?: "code";
  attemptsLeft?: number;
  fieldErrors?: FieldErrors;
  formError?: string;
  email?: string;
  redirectTo?: string;
};

const SECOND_FACTOR_MESSAGES: Record<string, string> = {
  wrong_code: "That code is not correct.",
  replayed: "That code was already used. Wait for the next one.",
  malformed: "Enter the 6-digit code from your authenticator app, or a recovery code (xxxxx-xxxxx).",
  not_enabled: "That code is not correct.",
};

export async function action({ request, context }: ActionFunctionArgs) {
  const { services } = context;
  const ctx = requestContext(request, context.request);
  // Counted before any slow work (per IP, and per device or against the shared budget
  // for unknown browsers); the command gives the slots back when the attempt must not count.
  // Wrong codes count here exactly like wrong passwords.
  const guard = await guardAttempt(services, ctx, { via: "login", account: true, cookieHeader: request.headers.get("cookie") });
  if (!guard.allowed) {
    const wait = minutesText(guard.retryAfter);
    const formError =
      guard.scope === "ip"
        ? `Too many failed sign-in attempts from your address. Try again in ${wait}.`
        : guard.scope === "device"
          ? `Too many failed sign-in attempts from this browser. Try again in ${wait}.`
          : `Too many failed sign-in attempts from browsers this account has not signed in from before. Sign in from a browser you have used before, or try again in ${wait}.`;
    return data<Failure>({ formError }, { status: 429, headers: { "Retry-After": String(guard.retryAfter) } });
  }

  const form = await readForm(request);
  const cookieHeader = request.headers.get("cookie");
  // Sign-in always issues a new session id; a session the browser already had is ended.
  const previousSessionId = await readSessionId(services.sessionCookie, cookieHeader);
  const passwordStep = form !== null && (form.has("email") || form.has("password"));
  let result: SignInResult;
  let email: string | undefined;
  let redirectTo: string | undefined;
  if (passwordStep || form === null) {
    const parsed = parseForm(LoginSchema, form);
    if (!parsed.success) {
      guard.release();
      return data<Failure>({ fieldErrors: parsed.fieldErrors }, { status: 400 });
    }
    ({ email, redirectTo } = parsed.data);
    result = await signIn(services, ctx, { ...parsed.data, previousSessionId, attempt: guard });
  } else {
    const parsed = parseForm(CodeStepSchema, form);
    if (!parsed.success) {
      guard.release();
      const live = await readLoginChallengeId(services.config, cookieHeader);
      const back = safeRedirectPath(form.get("redirectTo"), "");
      return data<Failure>(
        live
          ? { step: "code", fieldErrors: parsed.fieldErrors, redirectTo: back }
          : { fieldErrors: parsed.fieldErrors, redirectTo: back },
        { status: 400 },
      );
    }
    redirectTo = parsed.data.redirectTo;
    const challengeId = await readLoginChallengeId(services.config, cookieHeader);
    result = await completeSignIn(services, ctx, { challengeId, code: parsed.data.code, previousSessionId, attempt: guard });
  }

  const headers = new Headers({ "Cache-Control": "no-store" });
  if (result.ok) {
    headers.append("Set-Cookie", await serializeSessionCookie(services.sessionCookie, result.session.id, result.session.row));
    // This browser is now known: its later attempts draw on its own budget, not the shared one.
    const device = guard.device?.ownerId === result.owner.id ? guard.device : newDevice(result.owner.id);
    headers.append("Set-Cookie", await serializeDeviceCookie(services.deviceCookie, device));
    if (cookieHeader?.includes("login_challenge="))
      headers.append("Set-Cookie", await clearLoginChallengeCookie(services.config));
    return redirect(safeRedirectPath(redirectTo), { headers });
  }
  const back = redirectTo ? safeRedirectPath(redirectTo, "") : "";
  switch (result.reason) {
    case "unknown_email":
    case "wrong_password":
      return data<Failure>({ formError: "Incorrect email or password.", email }, { status: 401, headers });
    case "code_required":
      headers.append("Set-Cookie", await setLoginChallengeCookie(services.config, result.challenge.id));
      return data<Failure>({ step: "code", attemptsLeft: result.challenge.attemptsLeft, redirectTo: back }, { headers });
    case "no_challenge":
      headers.append("Set-Cookie", await clearLoginChallengeCookie(services.config));
      return data<Failure>(
        { formError: "This sign-in step has expired or was used up. Enter your email and password again.", redirectTo: back },
        { status: 401, headers },
      );
    case "unreadable_secret":
      headers.append("Set-Cookie", await clearLoginChallengeCookie(services.config));
      return data<Failure>(
        {
          formError:
            "Your second factor cannot be checked: this server's data key (DATA_KEY or the data-key file) is not the one it was enrolled with. Restore the data key, or reset the second factor with `npx preqstation owner 2fa reset --email <you>`.",
          redirectTo: back,
        },
        { status: 409, headers },
      );
    default: {
      const message = SECOND_FACTOR_MESSAGES[result.reason] ?? "That code is not correct.";
      if (result.challenge) {
        headers.append("Set-Cookie", await setLoginChallengeCookie(services.config, result.challenge.id));
        const left = result.challenge.attemptsLeft;
        return data<Failure>(
          {
            step: "code",
            attemptsLeft: left,
            formError: `${message} ${left} ${left === 1 ? "try" : "tries"} left.`,
            redirectTo: back,
          },
          { status: 401, headers },
        );
      }
      headers.append("Set-Cookie", await clearLoginChallengeCookie(services.config));
      return data<Failure>(
        { formError: `${message} Too many wrong codes: enter your email and password again.`, redirectTo: back },
        { status: 401, headers },
      );
    }
  }
}

export default function Login() {
  const loaded = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  const redirectTo = actionData?.redirectTo ?? loaded.redirectTo;
  const { fields } = loaded;
  const codeStep = actionData?.step === "code";
  // Without JavaScript a refused password comes back as a new page with the field empty;
  // with it (single fetch) the form stays mounted, so empty it the same way.
  useEffect(() => {
    if (!actionData?.formError) return;
    const password = document.querySelector<HTMLInputElement>('form input[name="password"]');
    if (password) password.value = "";
  }, [actionData]);
  return (
    <main className="narrow">
      <div className="card">
        <h1>{codeStep ? "Two-factor authentication" : "Sign in"}</h1>
        <FormAlert message={actionData?.formError} />
        {codeStep ? (
          <Form method="post" noValidate key="code">
            {redirectTo ? <input type="hidden" name="redirectTo" value={redirectTo} /> : null}
            <Field
              label="Code"
              {...fields.code}
              autoComplete="one-time-code"
              autoFocus
              hint="The 6-digit code from your authenticator app, or one of your recovery codes."
              error={actionData?.fieldErrors?.code}
            />
            <div className="form-actions">
              <button type="submit" disabled={busy}>
                {busy ? "Checking…" : "Verify"}
              </button>
              <a href={redirectTo ? `/login?redirectTo=${encodeURIComponent(redirectTo)}` : "/login"}>Start over</a>
            </div>
          </Form>
        ) : (
          <>
            <Form method="post" noValidate key="password">
              {redirectTo ? <input type="hidden" name="redirectTo" value={redirectTo} /> : null}
              <Field
                label="Email"
                {...fields.email}
                type="email"
                autoComplete="username webauthn"
                defaultValue={actionData?.email}
                error={actionData?.fieldErrors?.email}
              />
              <Field
                label="Password"
                {...fields.password}
                type="password"
                autoComplete="current-password"
                error={actionData?.fieldErrors?.password}
              />
              <div className="form-actions">
                <button type="submit" disabled={busy}>
                  {busy ? "Signing in…" : "Sign in"}
                </button>
              </div>
            </Form>
            <PasskeyAuthenticate
              optionsUrl="/login/passkey/options"
              verifyUrl="/login/passkey/verify"
              redirectTo={redirectTo}
              label="Sign in with a passkey"
              fallback={<p className="muted">Signing in with a passkey needs JavaScript.</p>}
            />
          </>
        )}
      </div>
    </main>
  );
}

export const meta: MetaFunction = () => [{ title: "Sign in · PreqStation" }];

/** A throttled attempt's page carries the action's Retry-After (document responses take headers from here). */
export const headers: HeadersFunction = ({ actionHeaders }) => {
  const retryAfter = actionHeaders.get("Retry-After");
  const h = new Headers();
  if (retryAfter) h.set("Retry-After", retryAfter);
  if (actionHeaders.get("Cache-Control")) h.set("Cache-Control", "no-store");
  return h;
};
