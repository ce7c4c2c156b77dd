import {
  data,
  redirect,
  type ActionFunctionArgs,
  type HeadersFunction,
  type LoaderFunctionArgs,
  type MetaFunction,
} from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { z } from "zod";
import { Field } from "~/components/field";
import { guardAttempt, minutesText } from "~/lib/auth/attempt-guard.server";
import { newDevice, serializeDeviceCookie } from "~/lib/auth/device-cookie.server";
import { getOwnerSession, safeRedirectPath } from "~/lib/auth/owner-session.server";
import { ownerExists } from "~/lib/auth/owner.server";
import { MAX_PASSWORD_LENGTH } from "~/lib/auth/password-policy";
import { readSessionId, serializeSessionCookie } from "~/lib/auth/session.server";
import { signIn } from "~/lib/auth/sign-in.server";
import { requestContext } from "~/lib/domain/context";
import { inputProps, parseForm, readForm, type FieldErrors } from "~/lib/http/forms.server";

const LoginSchema = z.object({
  email: z.string().trim().min(1, "Enter your email address").max(254, "Email is too long"),
  password: z.string().min(1, "Enter your password").max(MAX_PASSWORD_LENGTH, "Password is too long"),
  redirectTo: z.string().max(2048).optional(),
});

export async function loader({ request, context }: LoaderFunctionArgs) {
  const redirectTo = new URL(request.url).searchParams.get("redirectTo");
  if (await getOwnerSession(request, context)) throw redirect(safeRedirectPath(redirectTo));
  if (!(await ownerExists(context.services.db))) throw redirect("/setup");
  return {
    redirectTo: safeRedirectPath(redirectTo, ""),
    fields: { email: inputProps(LoginSchema, "email"), password: inputProps(LoginSchema, "password") },
  };
}

type Failure = { fieldErrors?: FieldErrors; formError?: string; email?: string };

export async function action({ request, context }: ActionFunctionArgs) {
  const { services } = context;
  const ctx = requestContext(request, context.request);
  // Counted before any slow work (per IP, and per device or against the shared budget
  // for unknown browsers); the command gives the slots back when the attempt must not count.
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

  const form = parseForm(LoginSchema, await readForm(request));
  if (!form.success) {
    guard.release();
    return data<Failure>({ fieldErrors: form.fieldErrors }, { status: 400 });
  }
  const { email, password, redirectTo } = form.data;

  // Sign-in always issues a new session id; a session the browser already had is ended.
  const previousSessionId = await readSessionId(services.sessionCookie, request.headers.get("cookie"));
  const result = await signIn(services, ctx, { email, password, previousSessionId, attempt: guard });
  if (!result.ok) return data<Failure>({ formError: "Incorrect email or password.", email }, { status: 401 });

  const headers = new Headers();
  headers.append("Set-Cookie", await serializeSessionCookie(services.sessionCookie, result.session.id, result.session.row));
  // This browser is now known: its later attempts draw on its own budget, not the shared one.
  const device = guard.device?.ownerId === result.owner.id ? guard.device : newDevice(result.owner.id);
  headers.append("Set-Cookie", await serializeDeviceCookie(services.deviceCookie, device));
  return redirect(safeRedirectPath(redirectTo), { headers });
}

export default function Login() {
  const { redirectTo, fields } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  return (
    <main className="narrow">
      <div className="card">
        <h1>Sign in</h1>
        {actionData?.formError ? (
          <div className="alert error" role="alert">
            {actionData.formError}
          </div>
        ) : null}
        <Form method="post" noValidate>
          {redirectTo ? <input type="hidden" name="redirectTo" value={redirectTo} /> : null}
          <Field
            label="Email"
            {...fields.email}
            type="email"
            autoComplete="username"
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
      </div>
    </main>
  );
}

export const meta: MetaFunction = () => [{ title: "Sign in · PreqStation" }];

/** A throttled attempt's page carries the action's Retry-After (document responses take headers from here). */
export const headers: HeadersFunction = ({ actionHeaders }) => {
  const retryAfter = actionHeaders.get("Retry-After");
  return retryAfter ? { "Retry-After": retryAfter } : new Headers();
};
