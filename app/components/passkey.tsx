import { browserSupportsWebAuthn, startAuthentication, startRegistration } from "@simplewebauthn/browser";
import { useEffect, useState, type ReactNode } from "react";

/**
 * The browser side of the passkey ceremonies. Everything here runs only after
 * hydration: without JavaScript the `fallback` text is what the page shows (passkeys
 * need the WebAuthn API). Every request is a same-origin POST (the server's
 * same-origin check applies) to a resource route that keeps the challenge on the
 * server and derives the relying party from its own verified origin.
 */

/** Whether the page is hydrated in a browser with WebAuthn. null while rendering on the server. */
function useWebAuthn(): boolean | null {
  const [supported, setSupported] = useState<boolean | null>(null);
  useEffect(() => setSupported(browserSupportsWebAuthn()), []);
  return supported;
}

async function postJson(
  url: string,
  body: unknown,
): Promise<{ status: number; redirected: string | null; json: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  // Sudo mode expired: the server answered 303 to /sudo, which fetch followed.
  if (response.redirected && new URL(response.url).pathname === "/sudo")
    return { status: 303, redirected: response.url, json: {} };
  const json = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  return { status: response.status, redirected: null, json };
}

function messageOf(json: Record<string, unknown>, fallback: string): string {
  return typeof json.message === "string" ? json.message : fallback;
}

/** The WebAuthn API's refusals (the owner cancelled, timed out, no passkey) in words. */
function ceremonyError(error: unknown): string {
  const name = error instanceof Error ? error.name : "";
  if (name === "NotAllowedError" || name === "AbortError") return "The passkey request was cancelled or timed out.";
  if (name === "InvalidStateError") return "This authenticator already holds a passkey for this account.";
  return "The browser could not use a passkey.";
}

/**
 * "Sign in with a passkey" (on `/login`) or "Use a passkey" (on `/sudo`): asks the
 * server for options, lets the browser find a discoverable passkey, posts the
 * assertion, and goes where the server says.
 */
export function PasskeyAuthenticate({
  optionsUrl,
  verifyUrl,
  redirectTo,
  label,
  fallback,
}: {
  optionsUrl: string;
  verifyUrl: string;
  redirectTo: string;
  label: string;
  fallback: ReactNode;
}) {
  const supported = useWebAuthn();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (supported === null) return <>{fallback}</>;
  if (!supported) return <p className="muted">This browser does not support passkeys.</p>;

  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      const start = await postJson(optionsUrl, {});
      if (start.redirected) return window.location.assign(start.redirected);
      if (start.status !== 200) throw new Error(messageOf(start.json, "Could not start the passkey sign-in."));
      let response;
      try {
        response = await startAuthentication({ optionsJSON: start.json.options as never });
      } catch (e) {
        throw new Error(ceremonyError(e));
      }
      const done = await postJson(verifyUrl, { challengeId: start.json.challengeId, response, redirectTo });
      if (done.redirected) return window.location.assign(done.redirected);
      if (done.status !== 200 || typeof done.json.redirectTo !== "string") {
        throw new Error(messageOf(done.json, "That passkey was not accepted."));
      }
      window.location.assign(done.json.redirectTo);
    } catch (e) {
      setError(e instanceof Error ? e.message : "The passkey was not accepted.");
      setBusy(false);
    }
  };

  return (
    <div className="passkey">
      {error ? (
        <div className="alert error" role="alert">
          {error}
        </div>
      ) : null}
      <button type="button" className="secondary" disabled={busy} onClick={() => void run()}>
        {busy ? "Waiting for the passkey…" : label}
      </button>
    </div>
  );
}

/** "Add a passkey" on `/settings/two-factor`: a name, then the browser's registration ceremony. */
export function PasskeyRegister({ maxLength, fallback }: { maxLength: number; fallback: ReactNode }) {
  const supported = useWebAuthn();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [name, setName] = useState("");
  if (supported === null) return <>{fallback}</>;
  if (!supported) return <p className="muted">This browser does not support passkeys.</p>;

  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      if (name.trim() === "") throw new Error("Enter a name for this passkey");
      const start = await postJson("/settings/two-factor/passkeys/options", {});
      if (start.redirected) return window.location.assign(start.redirected);
      if (start.status !== 200) throw new Error(messageOf(start.json, "Could not start adding a passkey."));
      let response;
      try {
        response = await startRegistration({ optionsJSON: start.json.options as never });
      } catch (e) {
        throw new Error(ceremonyError(e));
      }
      const done = await postJson("/settings/two-factor/passkeys/verify", {
        challengeId: start.json.challengeId,
        name,
        response,
      });
      if (done.redirected) return window.location.assign(done.redirected);
      if (done.status !== 200) throw new Error(messageOf(done.json, "The passkey was not added."));
      window.location.assign("/settings/two-factor");
    } catch (e) {
      setError(e instanceof Error ? e.message : "The passkey was not added.");
      setBusy(false);
    }
  };

  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        void run();
      }}
    >
      {error ? (
        <div className="alert error" role="alert">
          {error}
        </div>
      ) : null}
      <div>
        <label htmlFor="passkey-name">Passkey name</label>
        <input
          id="passkey-name"
          name="passkey_name"
          required
          maxLength={maxLength}
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder="e.g. Laptop fingerprint"
        />
      </div>
      <div className="form-actions">
        <button type="submit" disabled={busy}>
          {busy ? "Waiting for the passkey…" : "Add a passkey"}
        </button>
      </div>
    </form>
  );
}
