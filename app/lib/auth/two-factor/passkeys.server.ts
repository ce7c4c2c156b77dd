import { createHash, randomBytes } from "node:crypto";
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from "@simplewebauthn/server";
import { z } from "zod";
import type { Owner, PasskeyRow, WebauthnPurpose } from "../../../../db/schema";
import { runCommand, type CommandDeps } from "../../command/command.server";
import { nowIso, type Db } from "../../db.server";
import type { ActorContext, RequestContext } from "../../domain/context";
import { singleLineText } from "../../domain/text";

/**
 * Passkeys (WebAuthn) with @simplewebauthn/server: discoverable credentials ("resident
 * keys"), user verification required for registration and sign-in, signature counters
 * checked. The relying party (`rp.id`, `rp.origin`) is always a parameter the caller
 * takes from configuration or the request's already-verified origin, never from
 * anything the client sent (pitfall 32). Each ceremony's challenge is kept on the
 * server, found by the hash of a random id the browser holds, single use and
 * short-lived.
 */

export const WEBAUTHN_CHALLENGE_TTL_MS = 5 * 60_000;
export const WEBAUTHN_CHALLENGE_ID_PATTERN = /^wa1_[A-Za-z0-9_-]{43}$/;
/**
 * Sign-in ceremonies can be started by anyone (pitfall 25): at most this many are
 * kept at once; starting another deletes the oldest. A flood can then only make a
 * slow sign-in start over, never grow the table.
 */
export const MAX_PENDING_AUTHENTICATIONS = 100;

/**
 * Passkey sign-in starts one client IP (IPv6: one /64) may make per window, in front of
 * the cap above: each start writes a row, and one address must not be able to push the
 * owner's own pending sign-in out of the table (issue 22, item 9). A person clicking
 * "Sign in with a passkey" never comes close.
 */
export const PASSKEY_OPTIONS_RATE_LIMIT = { max: 20, windowMs: 15 * 60_000 } as const;
export const PASSKEY_NAME_MAX = 64;
/** ES256, EdDSA, RS256: what platform authenticators and security keys use. */
const SUPPORTED_ALGORITHMS = [-7, -8, -257];

/** The relying party, from the server's configuration or verified origin. */
export interface RelyingParty {
  /** The domain, e.g. `preq.example.com` (`localhost` in development). */
  id: string;
  /** The full origin the browser reports, e.g. `https://preq.example.com`. */
  origin: string;
  /** Shown by the authenticator. */
  name?: string;
}

export const PasskeyNameSchema = singleLineText(PASSKEY_NAME_MAX, {
  required: "Enter a name for this passkey",
  empty: "Enter a name for this passkey",
  tooLong: `Use at most ${PASSKEY_NAME_MAX} characters`,
});

const b64url = z
  .string()
  .regex(/^[A-Za-z0-9_-]*$/)
  .max(16_384);
const RegistrationResponseSchema = z.object({
  id: b64url.min(1),
  rawId: b64url.min(1),
  type: z.literal("public-key"),
  response: z
    .object({
      clientDataJSON: b64url,
      attestationObject: b64url,
      transports: z.array(z.string().max(32)).max(10).optional(),
    })
    .loose(),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.enum(["platform", "cross-platform"]).optional(),
});
const AuthenticationResponseSchema = z.object({
  id: b64url.min(1),
  rawId: b64url.min(1),
  type: z.literal("public-key"),
  response: z.object({
    clientDataJSON: b64url,
    authenticatorData: b64url,
    signature: b64url,
    userHandle: b64url.optional(),
  }),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.enum(["platform", "cross-platform"]).optional(),
});

function hashChallengeId(id: string): string {
  return createHash("sha256").update("preqstation webauthn-challenge v1\n").update(id).digest("hex");
}

/** The WebAuthn user handle: the owner's id as bytes (stable, not the email). */
function userHandle(ownerId: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(ownerId, "utf8"));
}

async function storeChallenge(
  trx: Db,
  input: { purpose: WebauthnPurpose; ownerId: string | null; challenge: string; now: number },
): Promise<string> {
  const id = `wa1_${randomBytes(32).toString("base64url")}`;
  await trx.deleteFrom("webauthn_challenges").where("expires_at", "<=", nowIso(input.now)).execute();
  await trx
    .insertInto("webauthn_challenges")
    .values({
      id_hash: hashChallengeId(id),
      purpose: input.purpose,
      owner_id: input.ownerId,
      challenge: input.challenge,
      created_at: nowIso(input.now),
      expires_at: nowIso(input.now + WEBAUTHN_CHALLENGE_TTL_MS),
    })
    .execute();
  return id;
}

/** Takes (deletes) a live challenge of this purpose: single use, whatever happens next. */
async function takeChallenge(trx: Db, id: unknown, purpose: WebauthnPurpose, now: number) {
  if (typeof id !== "string" || !WEBAUTHN_CHALLENGE_ID_PATTERN.test(id)) return null;
  const row = await trx
    .deleteFrom("webauthn_challenges")
    .where("id_hash", "=", hashChallengeId(id))
    .where("purpose", "=", purpose)
    .returningAll()
    .executeTakeFirst();
  if (!row || row.expires_at <= nowIso(now)) return null;
  return row;
}

export interface PasskeySummary {
  id: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
  /** Synced between devices (a passkey manager) rather than bound to one authenticator. */
  synced: boolean;
}

function summarize(row: PasskeyRow): PasskeySummary {
  return {
    id: row.id,
    name: row.name,
    created_at: row.created_at,
    last_used_at: row.last_used_at,
    synced: row.device_type === "multiDevice" && row.backed_up === 1,
  };
}

/** The owner's passkeys, oldest first, as summaries (never keys or credential ids). */
export async function listPasskeys(db: Db, ownerId: string): Promise<PasskeySummary[]> {
  const rows = await db
    .selectFrom("passkeys")
    .selectAll()
    .where("owner_id", "=", ownerId)
    .orderBy("created_at")
    .orderBy("id")
    .execute();
  return rows.map(summarize);
}

/**
 * Options for `navigator.credentials.create()` (registration of a new passkey by the
 * signed-in owner, in sudo mode) and the id of the stored challenge, which the
 * browser returns with the response.
 */
export async function startPasskeyRegistration(
  deps: CommandDeps,
  ctx: ActorContext,
  input: { owner: Pick<Owner, "id" | "email">; rp: RelyingParty },
  now = Date.now(),
): Promise<{ challengeId: string; options: PublicKeyCredentialCreationOptionsJSON }> {
  return runCommand(deps, ctx, async (tx) => {
    const trx = tx.db;
    const existing = await trx
      .selectFrom("passkeys")
      .select(["credential_id", "transports"])
      .where("owner_id", "=", input.owner.id)
      .execute();
    const options = await generateRegistrationOptions({
      rpName: input.rp.name ?? "PreqStation",
      rpID: input.rp.id,
      userName: input.owner.email,
      userDisplayName: input.owner.email,
      userID: userHandle(input.owner.id),
      timeout: WEBAUTHN_CHALLENGE_TTL_MS,
      attestationType: "none",
      excludeCredentials: existing.map((p) => ({ id: p.credential_id, transports: JSON.parse(p.transports) as string[] })),
      authenticatorSelection: { residentKey: "required", requireResidentKey: true, userVerification: "required" },
      supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
    });
    const challengeId = await storeChallenge(trx, {
      purpose: "registration",
      ownerId: input.owner.id,
      challenge: options.challenge,
      now,
    });
    return { challengeId, options };
  });
}

export type FinishRegistrationResult =
  | { ok: true; passkey: PasskeySummary }
  | { ok: false; reason: "invalid_name"; message: string }
  | { ok: false; reason: "no_challenge" | "invalid_response" | "not_verified" | "already_registered" };

/**
 * Verifies the browser's registration response against the stored challenge (used up
 * either way), the relying party and origin given, with user verification required,
 * and stores the credential under `name` with the `owner.passkey_add` audit entry, in
 * one transaction.
 */
export async function finishPasskeyRegistration(
  deps: CommandDeps,
  ctx: ActorContext,
  input: {
    owner: Pick<Owner, "id">;
    challengeId: unknown;
    response: unknown;
    name: unknown;
    rp: RelyingParty;
  },
  now = Date.now(),
): Promise<FinishRegistrationResult> {
  const name = PasskeyNameSchema.safeParse(input.name);
  return runCommand(deps, ctx, async (tx) => {
    const trx = tx.db;
    const challenge = await takeChallenge(trx, input.challengeId, "registration", now);
    if (!challenge || challenge.owner_id !== input.owner.id) return { ok: false, reason: "no_challenge" } as const;
    if (!name.success) {
      return { ok: false, reason: "invalid_name", message: name.error.issues[0]?.message ?? "Invalid name" } as const;
    }
    const response = RegistrationResponseSchema.safeParse(input.response);
    if (!response.success) return { ok: false, reason: "invalid_response" } as const;
    let verified;
    try {
      verified = await verifyRegistrationResponse({
        response: response.data as RegistrationResponseJSON,
        expectedChallenge: challenge.challenge,
        expectedOrigin: input.rp.origin,
        expectedRPID: input.rp.id,
        requireUserPresence: true,
        requireUserVerification: true,
        supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
      });
    } catch {
      return { ok: false, reason: "not_verified" } as const;
    }
    if (!verified.verified) return { ok: false, reason: "not_verified" } as const;
    const info = verified.registrationInfo;
    const credentialId = info.credential.id;
    const taken = await trx.selectFrom("passkeys").select("id").where("credential_id", "=", credentialId).executeTakeFirst();
    if (taken) return { ok: false, reason: "already_registered" } as const;
    const row: PasskeyRow = {
      id: randomBytes(12).toString("base64url"),
      owner_id: input.owner.id,
      credential_id: credentialId,
      public_key: Buffer.from(info.credential.publicKey).toString("base64url"),
      counter: info.credential.counter,
      transports: JSON.stringify(info.credential.transports ?? response.data.response.transports ?? []),
      name: name.data,
      aaguid: info.aaguid,
      device_type: info.credentialDeviceType,
      backed_up: info.credentialBackedUp ? 1 : 0,
      created_at: nowIso(now),
      last_used_at: null,
    };
    await trx.insertInto("passkeys").values(row).execute();
    await tx.audit(
      {
        action: "owner.passkey_add",
        resourceType: "passkey",
        resourceId: row.id,
        changes: { name: { before: null, after: row.name }, synced: { before: null, after: summarize(row).synced } },
      },
      { now },
    );
    return { ok: true, passkey: summarize(row) } as const;
  });
}

/**
 * Options for `navigator.credentials.get()` on `/login` ("Sign in with a passkey") or
 * `/sudo`: no credential list (discoverable credentials), user verification required.
 * Anyone may start one, so the pending sign-ins are capped (MAX_PENDING_AUTHENTICATIONS).
 */
export async function startPasskeyAuthentication(
  deps: CommandDeps,
  ctx: RequestContext,
  input: { rp: Pick<RelyingParty, "id"> },
  now = Date.now(),
): Promise<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }> {
  const options = await generateAuthenticationOptions({
    rpID: input.rp.id,
    allowCredentials: [],
    userVerification: "required",
    timeout: WEBAUTHN_CHALLENGE_TTL_MS,
  });
  const challengeId = await runCommand(deps, ctx, async (tx) => {
    const trx = tx.db;
    const id = await storeChallenge(trx, { purpose: "authentication", ownerId: null, challenge: options.challenge, now });
    const keep = await trx
      .selectFrom("webauthn_challenges")
      .select("id_hash")
      .where("purpose", "=", "authentication")
      .orderBy("created_at", "desc")
      .orderBy("id_hash")
      .limit(MAX_PENDING_AUTHENTICATIONS)
      .execute();
    if (keep.length === MAX_PENDING_AUTHENTICATIONS) {
      await trx
        .deleteFrom("webauthn_challenges")
        .where("purpose", "=", "authentication")
        .where(
          "id_hash",
          "not in",
          keep.map((k) => k.id_hash),
        )
        .execute();
    }
    return id;
  });
  return { challengeId, options };
}

export type FinishAuthenticationResult =
  | { ok: true; ownerId: string; passkeyId: string }
  | {
      ok: false;
      reason: "no_challenge" | "invalid_response" | "unknown_credential" | "not_verified" | "counter_regression";
    };

/**
 * Verifies a passkey sign-in: the stored challenge (used up either way), the given
 * relying party and origin, user verification, the signature against the stored
 * public key, and the signature counter: when either the stored or the new counter is
 * non-zero, the new one must be larger, or the passkey may have been cloned and the
 * sign-in is refused. The counter check is done here, on the verified counter (the
 * library is handed counter 0 so its own check cannot preempt this one with an
 * untyped error). Every refusal is a `passkey` failure event (coalesced: anyone can
 * cause one). On success the counter and last use are stored; creating the session
 * (and its `login` event) is the caller's.
 */
export async function finishPasskeyAuthentication(
  deps: CommandDeps,
  ctx: RequestContext,
  input: { challengeId: unknown; response: unknown; rp: RelyingParty },
  now = Date.now(),
): Promise<FinishAuthenticationResult> {
  return runCommand(deps, ctx, async (tx) => {
    const trx = tx.db;
    const fail = async (
      reason: Exclude<FinishAuthenticationResult, { ok: true }>["reason"],
      extra: Record<string, unknown> = {},
    ) => {
      await tx.event({ type: "passkey", outcome: "failure", details: { reason, ...extra } }, { coalesce: true, now });
      return { ok: false, reason } as const;
    };
    const challenge = await takeChallenge(trx, input.challengeId, "authentication", now);
    if (!challenge) return fail("no_challenge");
    const parsed = AuthenticationResponseSchema.safeParse(input.response);
    if (!parsed.success) return fail("invalid_response");
    const response = parsed.data as AuthenticationResponseJSON;
    const passkey = await trx.selectFrom("passkeys").selectAll().where("credential_id", "=", response.id).executeTakeFirst();
    if (!passkey) return fail("unknown_credential");
    if (
      response.response.userHandle !== undefined &&
      response.response.userHandle !== Buffer.from(userHandle(passkey.owner_id)).toString("base64url")
    ) {
      return fail("not_verified", { passkey_id: passkey.id });
    }
    let verified;
    try {
      verified = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge.challenge,
        expectedOrigin: input.rp.origin,
        expectedRPID: input.rp.id,
        credential: {
          id: passkey.credential_id,
          publicKey: new Uint8Array(Buffer.from(passkey.public_key, "base64url")),
          counter: 0,
          transports: JSON.parse(passkey.transports) as string[],
        },
        requireUserVerification: true,
      });
    } catch {
      return fail("not_verified", { passkey_id: passkey.id });
    }
    if (!verified.verified || !verified.authenticationInfo.userVerified) return fail("not_verified", { passkey_id: passkey.id });
    const { newCounter } = verified.authenticationInfo;
    if (!counterAdvances(passkey.counter, newCounter)) {
      return fail("counter_regression", { passkey_id: passkey.id, stored: passkey.counter, received: newCounter });
    }
    await trx
      .updateTable("passkeys")
      .set({
        counter: newCounter,
        last_used_at: nowIso(now),
        backed_up: verified.authenticationInfo.credentialBackedUp ? 1 : 0,
        device_type: verified.authenticationInfo.credentialDeviceType,
      })
      .where("id", "=", passkey.id)
      .execute();
    return { ok: true, ownerId: passkey.owner_id, passkeyId: passkey.id } as const;
  });
}

/**
 * Whether a signature counter is acceptable after `stored`: authenticators that keep
 * no counter report 0 every time (accepted while the stored one is 0 too); otherwise
 * the counter must strictly increase.
 */
export function counterAdvances(stored: number, received: number): boolean {
  if (stored === 0 && received === 0) return true;
  return received > stored;
}

export type RemovePasskeyResult = { ok: true; passkey: PasskeySummary } | { ok: false; reason: "not_found" };

/** Removes one of the owner's passkeys (sudo mode at the page), with its `owner.passkey_remove` audit entry. */
export async function removePasskey(
  deps: CommandDeps,
  ctx: ActorContext,
  input: { ownerId: string; passkeyId: string },
  now = Date.now(),
): Promise<RemovePasskeyResult> {
  return runCommand(deps, ctx, async (tx) => {
    const row = await tx.db
      .deleteFrom("passkeys")
      .where("owner_id", "=", input.ownerId)
      .where("id", "=", input.passkeyId)
      .returningAll()
      .executeTakeFirst();
    if (!row) return { ok: false, reason: "not_found" } as const;
    await tx.audit(
      {
        action: "owner.passkey_remove",
        resourceType: "passkey",
        resourceId: row.id,
        changes: { name: { before: row.name, after: null } },
      },
      { now },
    );
    return { ok: true, passkey: summarize(row) } as const;
  });
}
