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
import {
  checkCredentials,
  getOwnerSession,
  recordRequestEvent,
  requestMeta,
  safeRedirectPath,
} from "~/lib/auth/owner-session.server";
import { guardAttempt, minutesText } from "~/lib/auth/attempt-guard.server";
import { newDevice, serializeDeviceCookie } from "~/lib/auth/device-cookie.server";
import { parseForm, readForm, requirePost, type FieldErrors } from "~/lib/http/forms.server";
import { ownerExists } from "~/lib/auth/owner.server";
import { MAX_PASSWORD_LENGTH } from "~/lib/auth/password-policy";
import { createSession, deleteSession, readSessionId, serializeSessionCookie } from "~/lib/auth/session.server";

const LoginSchema = z.object({
  email: z.string().trim().min(1, "Enter your email address").max(254, "Email is too long"),
  password: z.string().min(1, "Enter your password").max(MAX_PASSWORD_LENGTH, "Password is too long"),
  redirectTo: z.string().max(2048).optional(),
});

type ActionData = { fieldErrors?: FieldErrors; formError?: string; email?: string };

export async function loader({ request, context }: LoaderFunctionArgs) {
  const redirectTo = new URL(request.url).searchParams.get("redirectTo");
  if (await getOwnerSession(request, context)) throw redirect(safeRedirectPath(redirectTo));
  if (!(await ownerExists(context.services.db))) throw redirect("/setup");
  return { redirectTo: safeRedirectPath(redirectTo, "") };
}

export async function action({ request, context }: ActionFunctionArgs) {
  requirePost(request);
  const { services } = context;
  const meta = requestMeta(request, context);
  // Counted before any slow work (per IP, and per device or against the shared budget
  // for unknown browsers); the slots are given back below when the attempt must not count.
  const guard = await guardAttempt(request, context, { via: "login", account: true });
  if (!guard.allowed) {
    const wait = minutesText(guard.retryAfter);
    const formError =
      guard.scope === "ip"
        ? `Too many failed sign-in attempts from your address. Try again in ${wait}.`
        : guard.scope === "device"
          ? `Too many failed sign-in attempts from this browser. Try again in ${wait}.`
          : `Too many failed sign-in attempts from browsers this account has not signed in from before. Sign in from a browser you have used before, or try again in ${wait}.`;
    return data<ActionData>({ formError }, { status: 429, headers: { "Retry-After": String(guard.retryAfter) } });
  }

  const form = parseForm(LoginSchema, await readForm(request));
  if (!form.success) {
    guard.release();
    return data<ActionData>({ fieldErrors: form.fieldErrors }, { status: 400 });
  }
  const { email, password, redirectTo } = form.data;

  const result = await checkCredentials(context, email, password);
  if (!result.ok) {
    const looksLikeEmail = z.email().safeParse(email).success;
    await recordRequestEvent(request, context, {
      type: "login",
      outcome: "failure",
      details: { reason: result.reason, ...(looksLikeEmail ? { email: email.toLowerCase() } : {}) },
    });
    return data<ActionData>({ formError: "Incorrect email or password.", email }, { status: 401 });
  }
  guard.release(); // a success never counts

  // Sign-in always issues a new session id; a session the browser already had is ended.
  const previous = await readSessionId(services.sessionCookie, request.headers.get("cookie"));
  if (previous) await deleteSession(services.db, previous);
  const session = await createSession(services.db, services.sessionCookie, {
    ownerId: result.owner.id,
    ip: meta.ip,
    userAgent: meta.userAgent,
  });
  await recordRequestEvent(request, context, {
    type: "login",
    outcome: "success",
    details: { email: result.owner.email, session: session.row.public_id },
  });
  const headers = new Headers();
  headers.append("Set-Cookie", await serializeSessionCookie(services.sessionCookie, session.id, session.row));
  // This browser is now known: its later attempts draw on its own budget, not the shared one.
  const device = guard.device?.ownerId === result.owner.id ? guard.device : newDevice(result.owner.id);
  headers.append("Set-Cookie", await serializeDeviceCookie(services.deviceCookie, device));
  return redirect(safeRedirectPath(redirectTo), { headers });
}

export default function Login() {
  const { redirectTo } = useLoaderData<typeof loader>();
  const actionData = useActionData<ActionData>();
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
            name="email"
            type="email"
            autoComplete="username"
            required
            defaultValue={actionData?.email}
            error={actionData?.fieldErrors?.email}
          />
          <Field
            label="Password"
            name="password"
            type="password"
            autoComplete="current-password"
            required
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
