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
import { FormAlert } from "~/components/form-alert";
import { CopyButton } from "~/components/copy-button";
import { Field } from "~/components/field";
import { PasskeyRegister } from "~/components/passkey";
import { UtcTime } from "~/components/utc-time";
import { guardAttempt, minutesText } from "~/lib/auth/attempt-guard.server";
import { inSudoMode, requireOwner, requireSudo } from "~/lib/http/owner-session.server";
import type { AttemptSlots } from "~/lib/auth/sign-in.server";
import { isSealedDataError } from "~/lib/auth/two-factor/data-key.server";
import { listPasskeys, PASSKEY_NAME_MAX, removePasskey } from "~/lib/auth/two-factor/passkeys.server";
import {
  confirmTotp,
  disableTotp,
  getPendingTotpEnrolment,
  getTwoFactorStatus,
  regenerateRecoveryCodes,
  startTotpEnrolment,
  type TotpEnrolment,
} from "~/lib/auth/two-factor/totp-factor.server";
import { readFlash, setFlash } from "~/lib/http/flash.server";
import { inputProps, parseForm, readForm, type FieldErrors } from "~/lib/http/forms.server";

const PAGE = "/settings/two-factor";

const IntentSchema = z.object({
  intent: z.enum(["totp-start", "totp-confirm", "totp-disable", "recovery-regenerate", "passkey-remove"], {
    message: "Unknown action",
  }),
});
const CodeSchema = z.object({
  code: z.string({ message: "Enter a code" }).trim().min(1, "Enter a code").max(32, "That code is too long"),
});
const RemovePasskeySchema = z.object({
  passkey_id: z.string({ message: "Choose a passkey" }).regex(/^[A-Za-z0-9_-]{1,64}$/, "Choose a passkey"),
});

const UNREADABLE =
  "The stored TOTP secret cannot be read with this server's data key (DATA_KEY or the data-key file): the database was restored or moved without its key. Restore the key, or reset the second factor with `npx preqstation owner 2fa reset --email <you>` and enrol again.";

/** What the page shows of an enrolment: the URI (in the page's text), the secret for typing, the QR code as an image. */
function enrolmentView(e: TotpEnrolment) {
  return {
    uri: e.uri,
    secret: e.secretBase32,
    // An <img> with a data: URL: the CSP allows data: images and no inline styles, and the SVG's own markup is never parsed into the page.
    qrDataUrl: `data:image/svg+xml;base64,${Buffer.from(e.qrSvg, "utf8").toString("base64")}`,
    expiresAt: e.expiresAt,
  };
}

export async function loader({ request, context }: LoaderFunctionArgs) {
  const owner = await requireOwner(request, context);
  const { db, dataKey, config } = context.services;
  const status = await getTwoFactorStatus(db, owner.owner.id);
  const passkeys = await listPasskeys(db, owner.owner.id);
  const sudo = inSudoMode(context, owner);
  let pending: ReturnType<typeof enrolmentView> | null = null;
  let unreadable = false;
  try {
    // The pending secret is shown again only in sudo mode, and only to the session that
    // started the enrolment (pitfall 35): not in the page, not in its `.data` response.
    const found =
      status.enrolmentPending && sudo
        ? await getPendingTotpEnrolment(db, dataKey, { owner: owner.owner, sessionIdHash: owner.session.id_hash })
        : null;
    pending = found ? enrolmentView(found) : null;
  } catch (error) {
    if (!isSealedDataError(error)) throw error;
    unreadable = true;
  }
  const flash = await readFlash(request, config);
  flash.headers.set("Cache-Control", "no-store");
  return data(
    {
      status: {
        totpEnabled: status.totpEnabled,
        totpEnabledAt: status.totpEnabledAt,
        recoveryCodesLeft: status.recoveryCodesLeft,
      },
      passkeys: passkeys.map((p) => ({
        id: p.id,
        name: p.name,
        createdAt: p.created_at,
        lastUsedAt: p.last_used_at,
        synced: p.synced,
      })),
      pending,
      unreadable: unreadable ? UNREADABLE : null,
      passkeyNameMax: PASSKEY_NAME_MAX,
      sudo,
      notice: flash.text,
      fields: { code: inputProps(CodeSchema, "code") },
    },
    { headers: flash.headers },
  );
}

type ActionResult =
  | { kind: "enrolment"; enrolment: ReturnType<typeof enrolmentView> }
  | { kind: "codes"; recoveryCodes: string[]; reason: "enabled" | "regenerated" }
  | { kind: "error"; intent: string; formError?: string; fieldErrors?: FieldErrors };

export async function action({ request, context }: ActionFunctionArgs) {
  const owner = await requireOwner(request, context);
  const { services } = context;
  const { config } = services;
  const form = await readForm(request);
  const intent = parseForm(IntentSchema, form);
  if (!intent.success) {
    return data<ActionResult>(
      { kind: "error", intent: "", formError: "That request could not be understood. Reload the page and try again." },
      { status: 400 },
    );
  }
  // Enrolment is confirmed with a code of the secret that sudo mode was needed to see, by
  // the session that saw it (the command checks that); every other change needs sudo mode
  // now (contract §6).
  if (intent.data.intent !== "totp-confirm") requireSudo(request, context, owner, PAGE);
  // A TOTP or recovery code checked here goes through the same attempt guard as the
  // sign-in code step: per IP, and per device or against the shared budget, counted
  // before the check and given back when the code was right or the form was invalid.
  let attempt: AttemptSlots | null = null;
  if (intent.data.intent === "totp-confirm" || intent.data.intent === "totp-disable") {
    const guard = await guardAttempt(context.services, owner.ctx, {
      via: "two_factor",
      account: true,
      cookieHeader: request.headers.get("cookie"),
    });
    if (!guard.allowed) {
      return data<ActionResult>(
        {
          kind: "error",
          intent: intent.data.intent,
          formError: `Too many wrong codes. Try again in ${minutesText(guard.retryAfter)}.`,
        },
        { status: 429, headers: { "Retry-After": String(guard.retryAfter) } },
      );
    }
    attempt = guard;
  }
  const { ctx } = owner;
  const noStore = { "Cache-Control": "no-store" };
  const ownerId = owner.owner.id;
  try {
    switch (intent.data.intent) {
      case "totp-start": {
        const started = await startTotpEnrolment(services, ctx, { owner: owner.owner, sessionIdHash: owner.session.id_hash });
        if (!started.ok)
          return data<ActionResult>({ kind: "error", intent: "totp-start", formError: "TOTP is already on." }, { status: 409 });
        return data<ActionResult>({ kind: "enrolment", enrolment: enrolmentView(started) }, { headers: noStore });
      }
      case "totp-confirm": {
        const code = parseForm(CodeSchema, form);
        if (!code.success) {
          attempt?.release();
          return data<ActionResult>({ kind: "error", intent: "totp-confirm", fieldErrors: code.fieldErrors }, { status: 400 });
        }
        const confirmed = await confirmTotp(services, ctx, {
          owner: owner.owner,
          sessionIdHash: owner.session.id_hash,
          code: code.data.code,
        });
        // Only a wrong code counts.
        if (confirmed.ok || confirmed.reason !== "wrong_code") attempt?.release();
        if (confirmed.ok) {
          return data<ActionResult>(
            { kind: "codes", recoveryCodes: confirmed.recoveryCodes, reason: "enabled" },
            { headers: noStore },
          );
        }
        const message =
          confirmed.reason === "wrong_code"
            ? "That code is not correct. Check the time on your phone and enter the current code."
            : confirmed.reason === "already_enabled"
              ? "TOTP is already on."
              : "This enrolment has expired. Start again.";
        return data<ActionResult>(
          {
            kind: "error",
            intent: "totp-confirm",
            fieldErrors: confirmed.reason === "wrong_code" ? { code: message } : {},
            formError: confirmed.reason === "wrong_code" ? undefined : message,
          },
          { status: confirmed.reason === "wrong_code" ? 400 : 409 },
        );
      }
      case "totp-disable": {
        const code = parseForm(CodeSchema, form);
        if (!code.success) {
          attempt?.release();
          return data<ActionResult>({ kind: "error", intent: "totp-disable", fieldErrors: code.fieldErrors }, { status: 400 });
        }
        const disabled = await disableTotp(services, ctx, { ownerId, code: code.data.code });
        // Only a wrong, replayed or malformed code counts (as on the sign-in code step).
        if (disabled.ok || disabled.reason === "not_enabled") attempt?.release();
        if (!disabled.ok) {
          const message =
            disabled.reason === "not_enabled"
              ? "TOTP is already off."
              : disabled.reason === "replayed"
                ? "That code was already used. Wait for the next one."
                : "That code is not correct.";
          return data<ActionResult>(
            { kind: "error", intent: "totp-disable", fieldErrors: { code: message } },
            { status: disabled.reason === "not_enabled" ? 409 : 400 },
          );
        }
        throw redirect(PAGE, {
          headers: { "Set-Cookie": await setFlash(config, "TOTP is off and its recovery codes are deleted.") },
        });
      }
      case "recovery-regenerate": {
        const regenerated = await regenerateRecoveryCodes(services, ctx, { ownerId });
        if (!regenerated.ok) {
          return data<ActionResult>(
            { kind: "error", intent: "recovery-regenerate", formError: "Turn TOTP on first." },
            { status: 409 },
          );
        }
        return data<ActionResult>(
          { kind: "codes", recoveryCodes: regenerated.recoveryCodes, reason: "regenerated" },
          { headers: noStore },
        );
      }
      case "passkey-remove": {
        const parsed = parseForm(RemovePasskeySchema, form);
        if (!parsed.success)
          return data<ActionResult>(
            { kind: "error", intent: "passkey-remove", formError: "Choose a passkey to remove." },
            { status: 400 },
          );
        const removed = await removePasskey(services, ctx, { ownerId, passkeyId: parsed.data.passkey_id });
        if (!removed.ok)
          return data<ActionResult>(
            { kind: "error", intent: "passkey-remove", formError: "That passkey does not exist." },
            { status: 404 },
          );
        throw redirect(PAGE, { headers: { "Set-Cookie": await setFlash(config, `Passkey “${removed.passkey.name}” removed.`) } });
      }
    }
  } catch (error) {
    attempt?.release();
    if (!isSealedDataError(error)) throw error;
    return data<ActionResult>({ kind: "error", intent: intent.data.intent, formError: UNREADABLE }, { status: 409 });
  }
}

export default function TwoFactor() {
  const { status, passkeys, pending, unreadable, passkeyNameMax, sudo, notice, fields } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const navigation = useNavigation();
  const busy = navigation.state === "submitting";
  const enrolment =
    actionData?.kind === "enrolment"
      ? actionData.enrolment
      : actionData?.kind === "error" && actionData.intent === "totp-confirm"
        ? pending
        : null;
  const codes = actionData?.kind === "codes" ? actionData : null;
  const error = actionData?.kind === "error" ? actionData : null;
  const errorFor = (intent: string) => (error?.intent === intent ? error : null);

  return (
    <>
      <h1>Two-factor authentication</h1>
      <p className="muted">
        A second factor protects the owner account even when the password leaks. Changes here need a recent sign-in or a password
        confirmation{sudo ? " (you confirmed recently)" : ""}.
      </p>
      {notice && !actionData ? (
        <div className="alert success" role="status">
          {notice}
        </div>
      ) : null}
      <FormAlert message={unreadable} />
      <FormAlert message={error?.formError} />

      {codes ? (
        <section className="alert success" role="status" aria-labelledby="codes-title">
          <h2 id="codes-title">{codes.reason === "enabled" ? "TOTP is on. Save your recovery codes" : "New recovery codes"}</h2>
          <p>
            Each code signs you in once if you lose your phone. They are shown only now; keep them somewhere safe (a password
            manager).{codes.reason === "regenerated" ? " The previous codes no longer work." : ""}
          </p>
          <ul className="recovery-codes" aria-label="Recovery codes">
            {codes.recoveryCodes.map((c) => (
              <li key={c}>
                <code>{c}</code>
              </li>
            ))}
          </ul>
          <div className="form-actions">
            <CopyButton value={codes.recoveryCodes.join("\n")} label="Copy codes" />
          </div>
        </section>
      ) : null}

      <section className="card" aria-labelledby="totp-title">
        <h2 id="totp-title">Authenticator app (TOTP)</h2>
        {status.totpEnabled ? (
          <>
            <p>
              <strong>On</strong> since <UtcTime iso={status.totpEnabledAt ?? ""} />. Recovery codes left:{" "}
              <strong>{status.recoveryCodesLeft}</strong> of 10.
            </p>
            <Form method="post" noValidate>
              <input type="hidden" name="intent" value="recovery-regenerate" />
              <div className="form-actions">
                <button type="submit" className="secondary" disabled={busy}>
                  New recovery codes
                </button>
              </div>
            </Form>
            <Form method="post" noValidate>
              <input type="hidden" name="intent" value="totp-disable" />
              <Field
                label="Code to turn TOTP off"
                {...fields.code}
                autoComplete="one-time-code"
                hint="A current code from your app, or a recovery code."
                error={errorFor("totp-disable")?.fieldErrors?.code}
              />
              <div className="form-actions">
                <button type="submit" className="danger" disabled={busy}>
                  Turn off TOTP
                </button>
              </div>
            </Form>
          </>
        ) : enrolment ? (
          <>
            <p>
              Scan this QR code with your authenticator app, or enter the secret by hand, then type the 6-digit code it shows.
            </p>
            <img className="qr" src={enrolment.qrDataUrl} width={200} height={200} alt="QR code of the otpauth URI below" />
            <p>
              Secret: <code aria-label="TOTP secret">{enrolment.secret}</code>
            </p>
            <p className="break">
              URI: <code aria-label="otpauth URI">{enrolment.uri}</code>
            </p>
            <Form method="post" noValidate>
              <input type="hidden" name="intent" value="totp-confirm" />
              <Field
                label="Code from the app"
                {...fields.code}
                inputMode="numeric"
                autoComplete="one-time-code"
                error={errorFor("totp-confirm")?.fieldErrors?.code}
              />
              <div className="form-actions">
                <button type="submit" disabled={busy}>
                  Turn on TOTP
                </button>
              </div>
            </Form>
          </>
        ) : (
          <>
            <p>
              <strong>Off.</strong> With TOTP on, signing in needs a 6-digit code from an authenticator app as well as your
              password.
            </p>
            <Form method="post" noValidate>
              <input type="hidden" name="intent" value="totp-start" />
              <div className="form-actions">
                <button type="submit" disabled={busy}>
                  Set up an authenticator app
                </button>
              </div>
            </Form>
          </>
        )}
      </section>

      <section className="card" aria-labelledby="passkeys-title">
        <h2 id="passkeys-title">Passkeys</h2>
        {passkeys.length === 0 ? (
          <p>No passkeys yet. A passkey signs you in on its own, with your fingerprint, face or device PIN.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {passkeys.map((p) => (
                <tr key={p.id}>
                  <td>
                    {p.name}
                    {p.synced ? <span className="muted"> (synced)</span> : null}
                  </td>
                  <td>
                    <UtcTime iso={p.createdAt} />
                  </td>
                  <td>{p.lastUsedAt ? <UtcTime iso={p.lastUsedAt} /> : "never"}</td>
                  <td>
                    <Form method="post">
                      <input type="hidden" name="intent" value="passkey-remove" />
                      <input type="hidden" name="passkey_id" value={p.id} />
                      <button type="submit" className="danger small" aria-label={`Remove passkey ${p.name}`} disabled={busy}>
                        Remove
                      </button>
                    </Form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <PasskeyRegister
          maxLength={passkeyNameMax}
          fallback={<p className="muted">Adding a passkey needs JavaScript: enable it for this site to add one.</p>}
        />
      </section>
    </>
  );
}

export const meta: MetaFunction = () => [{ title: "Two-factor authentication · PreqStation" }];

/** Never cached; a throttled attempt's page carries the action's Retry-After. */
export const headers: HeadersFunction = ({ actionHeaders }) => {
  const h = new Headers({ "Cache-Control": "no-store" });
  const retryAfter = actionHeaders.get("Retry-After");
  if (retryAfter) h.set("Retry-After", retryAfter);
  return h;
};
