import { data, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { z } from "zod";
import { Field } from "~/components/field";
import { appendAudit } from "~/lib/audit/log.server";
import { ownerAuditContext, recordRequestEvent, requestMeta, requireOwner } from "~/lib/auth/owner-session.server";
import { transaction } from "~/lib/db.server";
import { guardAttempt, minutesText } from "~/lib/auth/attempt-guard.server";
import { parseForm, readForm, requirePost, type FieldErrors } from "~/lib/http/forms.server";
import { NewPasswordSchema, updateOwnerPassword } from "~/lib/auth/owner.server";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "~/lib/auth/password-policy";
import { hashPassword, verifyPassword } from "~/lib/auth/password.server";
import { recentSuccess } from "~/lib/security/events-query.server";
import { recordSecurityEvent } from "~/lib/security/events.server";
import { revokeOtherSessions } from "~/lib/auth/session.server";

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
  // `?changed` only asks for the confirmation; what it says comes from the recorded
  // event, so a crafted link cannot claim a change that did not happen.
  let changed: { at: string; otherSessionsEnded: number } | null = null;
  if (new URL(request.url).searchParams.has("changed")) {
    const event = await recentSuccess(context.services.db, "password_changed");
    if (event) {
      const ended = EndedSchema.safeParse(event.details.other_sessions_ended);
      changed = { at: event.createdAt, otherSessionsEnded: ended.success ? ended.data : 0 };
    }
  }
  return { changed };
}

const EndedSchema = z.number().int().min(0);

type ActionData = { fieldErrors?: FieldErrors; formError?: string };

export async function action({ request, context }: ActionFunctionArgs) {
  const { owner, session } = await requireOwner(request, context);
  requirePost(request);
  const { db } = context.services;
  const meta = requestMeta(request, context);

  // Wrong current passwords count against the same per-IP (per-/64) budget as failed
  // sign-ins, so a stolen session cannot be used to guess the password at full speed.
  // The attempt is counted before the slow check, so parallel guesses cannot all pass,
  // and given back when it must not count (a form error, the right password).
  const guard = await guardAttempt(request, context, { via: "password_change", account: false });
  if (!guard.allowed) {
    return data<ActionData>(
      { formError: `Too many wrong passwords from your address. Try again in ${minutesText(guard.retryAfter)}.` },
      { status: 429, headers: { "Retry-After": String(guard.retryAfter) } },
    );
  }

  const form = parseForm(ChangePasswordSchema, await readForm(request));
  if (!form.success) {
    guard.release();
    return data<ActionData>({ fieldErrors: form.fieldErrors }, { status: 400 });
  }
  const { current_password, new_password } = form.data;

  if (!(await verifyPassword(current_password, owner.password_hash))) {
    await recordRequestEvent(request, context, {
      type: "password_changed",
      outcome: "failure",
      details: { reason: "wrong_current_password" },
    });
    return data<ActionData>({ fieldErrors: { current_password: "That is not your current password" } }, { status: 400 });
  }
  guard.release();

  const passwordHash = await hashPassword(new_password);
  await transaction(db, async (trx) => {
    await updateOwnerPassword(trx, owner.id, passwordHash);
    // Every other browser is signed out; this one stays signed in.
    const n = await revokeOtherSessions(trx, owner.id, session.id_hash);
    await recordSecurityEvent(trx, {
      type: "password_changed",
      outcome: "success",
      ip: meta.ip,
      userAgent: meta.userAgent,
      path: meta.path,
      details: { via: "web", other_sessions_ended: n },
    });
    await appendAudit(trx, ownerAuditContext(request, context, owner), {
      action: "owner.password_change",
      resourceType: "owner",
      resourceId: owner.id,
      // Never the password or its hash: only that it changed, and what it ended.
      changes: { password: { before: "[redacted]", after: "[changed]" }, other_sessions: { before: n, after: 0 } },
    });
  });
  return redirect("/settings/security?changed=1");
}

export default function Security() {
  const { changed } = useLoaderData<typeof loader>();
  const actionData = useActionData<ActionData>();
  const busy = useNavigation().state === "submitting";
  const errors = actionData?.fieldErrors;
  return (
    <>
      <h1>Security</h1>
      {changed ? (
        <div className="alert success" role="status">
          {`Password changed at ${changed.at.slice(0, 19).replace("T", " ")} UTC. ${
            changed.otherSessionsEnded === 0
              ? "No other sessions were signed in."
              : `${changed.otherSessionsEnded} other session${changed.otherSessionsEnded === 1 ? " was" : "s were"} signed out.`
          }`}
        </div>
      ) : null}
      <section className="card" aria-labelledby="password-heading">
        <h2 id="password-heading">Change password</h2>
        <p className="muted">
          Every other signed-in browser is signed out when the password changes; this one stays signed in. Locked out?
          Run <code>npx preqstation owner reset-password --email you@example.com</code> on the server.
        </p>
        {actionData?.formError ? (
          <div className="alert error" role="alert">
            {actionData.formError}
          </div>
        ) : null}
        <Form method="post" noValidate>
          <Field
            label="Current password"
            name="current_password"
            type="password"
            autoComplete="current-password"
            required
            error={errors?.current_password}
          />
          <Field
            label="New password"
            name="new_password"
            type="password"
            autoComplete="new-password"
            required
            minLength={MIN_PASSWORD_LENGTH}
            hint={`At least ${MIN_PASSWORD_LENGTH} characters.`}
            error={errors?.new_password}
          />
          <Field
            label="Confirm new password"
            name="new_password_confirm"
            type="password"
            autoComplete="new-password"
            required
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

/** A throttled attempt's page carries the action's Retry-After (document responses take headers from here). */
export const headers: HeadersFunction = ({ actionHeaders }) => {
  const retryAfter = actionHeaders.get("Retry-After");
  return retryAfter ? { "Retry-After": retryAfter } : new Headers();
};
