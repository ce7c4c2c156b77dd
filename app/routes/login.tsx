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
} from "~/lib/auth.server";
import { throttleKey } from "~/lib/client-ip.server";
import { parseForm, readForm, requirePost, type FieldErrors } from "~/lib/forms.server";
import { ownerExists } from "~/lib/owner.server";
import { MAX_PASSWORD_LENGTH } from "~/lib/password-policy";
import { createSession, deleteSession, readSessionId, serializeSessionCookie } from "~/lib/session.server";

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
  // Count the attempt before any slow work, so parallel attempts cannot all pass
  // the check; the slot is given back below when the attempt must not count.
  const throttle = throttleKey(meta.ip);
  const attempt = services.limiters.login.hit(throttle);
  if (!attempt.allowed) {
    await recordRequestEvent(
      request,
      context,
      { type: "login_throttled", outcome: "blocked", details: { limit: attempt.limit } },
      { coalesce: true },
    );
    const minutes = Math.ceil(attempt.retryAfter / 60);
    return data<ActionData>(
      { formError: `Too many failed sign-in attempts from your address. Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.` },
      { status: 429, headers: { "Retry-After": String(attempt.retryAfter) } },
    );
  }

  const form = parseForm(LoginSchema, await readForm(request));
  if (!form.success) {
    services.limiters.login.release(throttle);
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
  services.limiters.login.release(throttle); // a success never counts

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
  return redirect(safeRedirectPath(redirectTo), {
    headers: { "Set-Cookie": await serializeSessionCookie(services.sessionCookie, session.id, session.row) },
  });
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
