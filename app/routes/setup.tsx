import {
  data,
  redirect,
  type ActionFunctionArgs,
  type HeadersFunction,
  type LoaderFunctionArgs,
  type MetaFunction,
} from "@remix-run/node";
import { Form, useActionData, useNavigation } from "@remix-run/react";
import { z } from "zod";
import { Field } from "~/components/field";
import { recordRequestEvent, requestMeta } from "~/lib/auth/owner-session.server";
import { guardAttempt } from "~/lib/auth/attempt-guard.server";
import { newDevice, serializeDeviceCookie } from "~/lib/auth/device-cookie.server";
import { parseForm, readForm, requirePost, type FieldErrors } from "~/lib/http/forms.server";
import { createOwner, EmailSchema, NewPasswordSchema, OwnerExistsError, ownerExists } from "~/lib/auth/owner.server";
import { MIN_PASSWORD_LENGTH } from "~/lib/auth/password-policy";
import { hashPassword } from "~/lib/auth/password.server";
import { createSession, serializeSessionCookie } from "~/lib/auth/session.server";

const SetupSchema = z
  .object({
    setup_code: z.string().trim().min(1, "Enter the setup code from the server log").max(64, "That code is too long"),
    email: EmailSchema,
    password: NewPasswordSchema,
    password_confirm: z.string(),
  })
  .refine((v) => v.password === v.password_confirm, { path: ["password_confirm"], message: "The passwords do not match" });

type ActionData = { fieldErrors?: FieldErrors; formError?: string; email?: string };

function notFound(): never {
  throw new Response("Not Found", { status: 404 });
}

export async function loader({ context }: LoaderFunctionArgs) {
  if (await ownerExists(context.services.db)) notFound();
  return null;
}

export async function action({ request, context }: ActionFunctionArgs) {
  requirePost(request);
  const { services } = context;
  if (!services.setupCode.active || (await ownerExists(services.db))) {
    await recordRequestEvent(request, context, { type: "setup", outcome: "blocked", details: { reason: "owner_exists" } }, { coalesce: true });
    notFound();
  }
  const meta = requestMeta(request, context);
  // Counted before any slow work (see the sign-in page); given back unless the code was wrong.
  const guard = await guardAttempt(request, context, { via: "setup", account: false });
  if (!guard.allowed) {
    return data<ActionData>(
      { formError: "Too many wrong setup codes from your address. Wait and try again." },
      { status: 429, headers: { "Retry-After": String(guard.retryAfter) } },
    );
  }

  const form = parseForm(SetupSchema, await readForm(request));
  if (!form.success) {
    guard.release();
    return data<ActionData>({ fieldErrors: form.fieldErrors }, { status: 400 });
  }
  const { setup_code, email, password } = form.data;

  if (!services.setupCode.matches(setup_code)) {
    // Coalesced per client like other anonymous events: only a code from the log stops a flood of these.
    await recordRequestEvent(request, context, { type: "setup", outcome: "failure", details: { reason: "wrong_code" } }, { coalesce: true });
    return data<ActionData>(
      { fieldErrors: { setup_code: "That is not the setup code shown in the server log" }, email },
      { status: 400 },
    );
  }
  guard.release();

  let owner;
  try {
    owner = await createOwner(services.db, { email, passwordHash: await hashPassword(password) });
  } catch (error) {
    if (!(error instanceof OwnerExistsError)) throw error;
    await recordRequestEvent(request, context, { type: "setup", outcome: "blocked", details: { reason: "owner_exists" } });
    notFound();
  }
  services.setupCode.consume();
  const session = await createSession(services.db, services.sessionCookie, {
    ownerId: owner.id,
    ip: meta.ip,
    userAgent: meta.userAgent,
  });
  await recordRequestEvent(request, context, { type: "setup", outcome: "success", details: { email: owner.email } });
  const headers = new Headers();
  headers.append("Set-Cookie", await serializeSessionCookie(services.sessionCookie, session.id, session.row));
  headers.append("Set-Cookie", await serializeDeviceCookie(services.deviceCookie, newDevice(owner.id)));
  return redirect("/settings/api-keys", { headers });
}

export default function Setup() {
  const actionData = useActionData<ActionData>();
  const busy = useNavigation().state === "submitting";
  const errors = actionData?.fieldErrors ?? {};
  return (
    <main className="narrow">
      <div className="card">
        <h1>Set up PreqStation</h1>
        <p className="muted">
          Create the owner account. The setup code is printed in the server log on a line reading{" "}
          <code>Setup code: …</code>.
        </p>
        {actionData?.formError ? (
          <div className="alert error" role="alert">
            {actionData.formError}
          </div>
        ) : null}
        <Form method="post" noValidate>
          <Field label="Setup code" name="setup_code" autoComplete="off" required error={errors.setup_code} />
          <Field label="Email" name="email" type="email" autoComplete="username" required defaultValue={actionData?.email} error={errors.email} />
          <Field
            label="Password"
            name="password"
            type="password"
            autoComplete="new-password"
            required
            minLength={MIN_PASSWORD_LENGTH}
            hint={`At least ${MIN_PASSWORD_LENGTH} characters.`}
            error={errors.password}
          />
          <Field label="Confirm password" name="password_confirm" type="password" autoComplete="new-password" required error={errors.password_confirm} />
          <div className="form-actions">
            <button type="submit" disabled={busy}>
              {busy ? "Creating…" : "Create owner"}
            </button>
          </div>
        </Form>
      </div>
    </main>
  );
}

export const meta: MetaFunction = () => [{ title: "Set up · PreqStation" }];

/** A throttled attempt's page carries the action's Retry-After (document responses take headers from here). */
export const headers: HeadersFunction = ({ actionHeaders }) => {
  const retryAfter = actionHeaders.get("Retry-After");
  return retryAfter ? { "Retry-After": retryAfter } : new Headers();
};
