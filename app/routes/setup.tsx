import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { z } from "zod";
import { FormAlert } from "~/components/form-alert";
import { Field } from "~/components/field";
import { guardAttempt } from "~/lib/auth/attempt-guard.server";
import { newDevice, serializeDeviceCookie } from "~/lib/auth/device-cookie.server";
import { setUpOwner, setupIsOpen } from "~/lib/auth/owner-setup.server";
import { EmailSchema, NewPasswordSchema, ownerExists } from "~/lib/auth/owner.server";
import { MIN_PASSWORD_LENGTH } from "~/lib/auth/password-policy";
import { serializeSessionCookie } from "~/lib/auth/session.server";
import { requestContext } from "~/lib/domain/context";
import { inputProps, parseForm, readForm, type FieldErrors, retryAfterHeaders } from "~/lib/http/forms.server";

const SetupSchema = z
  .object({
    setup_code: z.string().trim().min(1, "Enter the setup code from the server log").max(64, "That code is too long"),
    email: EmailSchema,
    password: NewPasswordSchema,
    password_confirm: z.string(),
  })
  .refine((v) => v.password === v.password_confirm, { path: ["password_confirm"], message: "The passwords do not match" });

type Failure = { fieldErrors?: FieldErrors; formError?: string; email?: string };

function notFound(): never {
  throw new Response("Not Found", { status: 404 });
}

export async function loader({ context }: LoaderFunctionArgs) {
  if (await ownerExists(context.services.db)) notFound();
  return {
    fields: {
      setup_code: inputProps(SetupSchema, "setup_code"),
      email: inputProps(SetupSchema, "email"),
      password: inputProps(SetupSchema, "password"),
      password_confirm: inputProps(SetupSchema, "password_confirm"),
    },
  };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { services } = context;
  const ctx = requestContext(request, context.request);
  if (!(await setupIsOpen(services, ctx))) notFound();
  // Counted before any slow work (see the sign-in page); given back unless the code was wrong.
  const guard = await guardAttempt(services, ctx, { via: "setup", account: false, cookieHeader: null });
  if (!guard.allowed) {
    return data<Failure>(
      { formError: "Too many wrong setup codes from your address. Wait and try again." },
      { status: 429, headers: { "Retry-After": String(guard.retryAfter) } },
    );
  }

  const form = parseForm(SetupSchema, await readForm(request));
  if (!form.success) {
    guard.release();
    return data<Failure>({ fieldErrors: form.fieldErrors }, { status: 400 });
  }
  const { setup_code, email, password } = form.data;

  const result = await setUpOwner(services, ctx, { setupCode: setup_code, email, password, attempt: guard });
  if (!result.ok && result.reason === "wrong_code") {
    return data<Failure>(
      { fieldErrors: { setup_code: "That is not the setup code shown in the server log" }, email },
      { status: 400 },
    );
  }
  if (!result.ok) notFound();
  const headers = new Headers();
  headers.append("Set-Cookie", await serializeSessionCookie(services.sessionCookie, result.session.id, result.session.row));
  headers.append("Set-Cookie", await serializeDeviceCookie(services.deviceCookie, newDevice(result.owner.id)));
  return redirect("/settings/api-keys", { headers });
}

export default function Setup() {
  const { fields } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  const errors = actionData?.fieldErrors ?? {};
  return (
    <main className="narrow">
      <div className="card">
        <h1>Set up PreqStation</h1>
        <p className="muted">
          Create the owner account. The setup code is printed in the server log on a line reading <code>Setup code: …</code>.
        </p>
        <FormAlert message={actionData?.formError} />
        <Form method="post" noValidate>
          <Field label="Setup code" {...fields.setup_code} autoComplete="off" error={errors.setup_code} />
          <Field
            label="Email"
            {...fields.email}
            type="email"
            autoComplete="username"
            defaultValue={actionData?.email}
            error={errors.email}
          />
          <Field
            label="Password"
            {...fields.password}
            type="password"
            autoComplete="new-password"
            hint={`At least ${MIN_PASSWORD_LENGTH} characters.`}
            error={errors.password}
          />
          <Field
            label="Confirm password"
            {...fields.password_confirm}
            type="password"
            autoComplete="new-password"
            error={errors.password_confirm}
          />
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

export const headers = retryAfterHeaders;
