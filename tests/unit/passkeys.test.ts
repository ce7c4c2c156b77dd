import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import type { Owner } from "../../db/schema";
import type { AuditContext } from "../../app/lib/audit/log.server";
import { createOwner } from "../../app/lib/auth/owner.server";
import {
  counterAdvances,
  finishPasskeyAuthentication,
  finishPasskeyRegistration,
  listPasskeys,
  MAX_PENDING_AUTHENTICATIONS,
  removePasskey,
  startPasskeyAuthentication,
  startPasskeyRegistration,
  type RelyingParty,
} from "../../app/lib/auth/two-factor/passkeys.server";
import type { OpenedDatabase } from "../../app/lib/db.server";
import { testAuditSigner } from "../support/audit-key";
import { cmd, testDatabase } from "../support/kit";
import { authCmd } from "../support/auth-cmd";

/**
 * A software authenticator built on node:crypto (ES256, "none" attestation): real
 * WebAuthn responses, verified by @simplewebauthn/server end to end, no mocks.
 */
class SoftAuthenticator {
  readonly credentialId = randomBytes(16);
  readonly privateKey: KeyObject;
  readonly publicJwk: { x: string; y: string };
  counter = 0;
  constructor(
    readonly rp: RelyingParty,
    readonly options: { userVerified?: boolean; stepCounter?: number } = {},
  ) {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    this.privateKey = privateKey;
    const jwk = publicKey.export({ format: "jwk" });
    this.publicJwk = { x: jwk.x!, y: jwk.y! };
  }

  private authData(flags: number, attested?: Buffer): Buffer {
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(this.counter);
    return Buffer.concat([
      createHash("sha256").update(this.rp.id).digest(),
      Buffer.from([flags]),
      counter,
      attested ?? Buffer.alloc(0),
    ]);
  }

  private flags(attested: boolean): number {
    // UP (0x01) | UV (0x04) | BE (0x08) | BS (0x10) | AT (0x40)
    return 0x01 | (this.options.userVerified === false ? 0 : 0x04) | 0x08 | 0x10 | (attested ? 0x40 : 0);
  }

  private clientData(type: string, challenge: string, origin = this.rp.origin): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  }

  register(challenge: string, origin?: string) {
    const cose = cbor(
      new Map<number, unknown>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, Buffer.from(this.publicJwk.x, "base64url")],
        [-3, Buffer.from(this.publicJwk.y, "base64url")],
      ]),
    );
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(this.credentialId.length);
    const attested = Buffer.concat([Buffer.alloc(16), idLength, this.credentialId, cose]);
    const attestationObject = cbor(
      new Map<string, unknown>([
        ["fmt", "none"],
        ["attStmt", new Map()],
        ["authData", this.authData(this.flags(true), attested)],
      ]),
    );
    const id = this.credentialId.toString("base64url");
    return {
      id,
      rawId: id,
      type: "public-key",
      response: {
        clientDataJSON: this.clientData("webauthn.create", challenge, origin).toString("base64url"),
        attestationObject: attestationObject.toString("base64url"),
        transports: ["internal"],
      },
      clientExtensionResults: {},
    };
  }

  authenticate(challenge: string, userHandle: string, origin?: string) {
    this.counter += this.options.stepCounter ?? 1;
    const authData = this.authData(this.flags(false));
    const clientData = this.clientData("webauthn.get", challenge, origin);
    const signature = sign(
      "sha256",
      Buffer.concat([authData, createHash("sha256").update(clientData).digest()]),
      this.privateKey,
    );
    const id = this.credentialId.toString("base64url");
    return {
      id,
      rawId: id,
      type: "public-key",
      response: {
        clientDataJSON: clientData.toString("base64url"),
        authenticatorData: authData.toString("base64url"),
        signature: signature.toString("base64url"),
        userHandle,
      },
      clientExtensionResults: {},
    };
  }
}

/** Minimal CBOR encoder: unsigned/negative integers, byte and text strings, maps. */
function cbor(value: unknown): Buffer {
  const head = (major: number, n: number): Buffer => {
    if (n < 24) return Buffer.from([(major << 5) | n]);
    if (n < 256) return Buffer.from([(major << 5) | 24, n]);
    const b = Buffer.alloc(3);
    b[0] = (major << 5) | 25;
    b.writeUInt16BE(n, 1);
    return b;
  };
  if (typeof value === "number") return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === "string") return Buffer.concat([head(3, Buffer.byteLength(value)), Buffer.from(value)]);
  if (Buffer.isBuffer(value)) return Buffer.concat([head(2, value.length), value]);
  if (value instanceof Map) {
    return Buffer.concat([head(5, value.size), ...[...value].flatMap(([k, v]) => [cbor(k), cbor(v)])]);
  }
  throw new Error("unsupported CBOR value");
}

const rp: RelyingParty = { id: "preq.example.com", origin: "https://preq.example.com", name: "PreqStation" };
const audit: AuditContext = {
  actor: { type: "owner", id: "owner", label: "owner@example.com" },
  ip: "192.0.2.10",
  userAgent: "Chromium",
  requestId: "req-1",
  signer: testAuditSigner,
};
const source = { ip: "192.0.2.10", userAgent: "Chromium", path: "/login" };

let opened: OpenedDatabase;
let owner: Owner;
beforeEach(async () => {
  opened = await testDatabase();
  owner = await createOwner(opened.db, { email: "owner@example.com", passwordHash: "unused" });
});

async function register(auth: SoftAuthenticator, name = "Laptop") {
  const { challengeId, options } = await startPasskeyRegistration(...cmd(opened.db), { owner, rp });
  expect(options.authenticatorSelection).toMatchObject({ residentKey: "required", userVerification: "required" });
  expect(options.rp).toEqual({ id: rp.id, name: "PreqStation" });
  return finishPasskeyRegistration(...cmd(opened.db, audit), {
    owner,
    challengeId,
    response: auth.register(options.challenge),
    name,
    rp,
  });
}

async function signIn(auth: SoftAuthenticator, origin?: string) {
  const { challengeId, options } = await startPasskeyAuthentication(...cmd(opened.db), { rp });
  expect(options.allowCredentials ?? []).toEqual([]);
  expect(options.userVerification).toBe("required");
  const handle = Buffer.from(owner.id).toString("base64url");
  return finishPasskeyAuthentication(...authCmd(opened.db, { source }), {
    challengeId,
    response: auth.authenticate(options.challenge, handle, origin),
    rp,
  });
}

const events = () => opened.db.selectFrom("security_events").selectAll().orderBy("id").execute();

describe("passkeys", () => {
  it("registers a named passkey (audited) and signs in with it, storing the new counter", async () => {
    const auth = new SoftAuthenticator(rp);
    const added = await register(auth);
    expect(added).toMatchObject({ ok: true, passkey: { name: "Laptop", last_used_at: null, synced: true } });
    const [entry] = await opened.db.selectFrom("audit_log").selectAll().execute();
    expect(entry).toMatchObject({ action: "owner.passkey_add", resource_type: "passkey" });
    expect(await signIn(auth)).toMatchObject({ ok: true, ownerId: owner.id });
    const row = await opened.db.selectFrom("passkeys").selectAll().executeTakeFirstOrThrow();
    expect(row.counter).toBe(1);
    expect(row.last_used_at).not.toBeNull();
    expect((await listPasskeys(opened.db, owner.id))[0]).not.toHaveProperty("public_key");
  });

  it("refuses a counter that does not increase (a cloned authenticator) and records it", async () => {
    const auth = new SoftAuthenticator(rp);
    await register(auth);
    expect((await signIn(auth)).ok).toBe(true); // counter 1
    auth.counter = 0; // the clone replays from an older state: next response says 1 again
    expect(await signIn(auth)).toEqual({ ok: false, reason: "counter_regression" });
    const last = (await events()).at(-1)!;
    expect(last).toMatchObject({ type: "passkey", outcome: "failure" });
    expect(JSON.parse(last.details)).toMatchObject({ reason: "counter_regression", stored: 1, received: 1 });
    expect((await opened.db.selectFrom("passkeys").select("counter").executeTakeFirstOrThrow()).counter).toBe(1);
  });

  it("accepts an authenticator that keeps no counter (always 0)", async () => {
    const auth = new SoftAuthenticator(rp, { stepCounter: 0 });
    await register(auth);
    expect((await signIn(auth)).ok).toBe(true);
    expect((await signIn(auth)).ok).toBe(true);
    expect(counterAdvances(0, 0)).toBe(true);
    expect(counterAdvances(5, 5)).toBe(false);
    expect(counterAdvances(5, 4)).toBe(false);
    expect(counterAdvances(0, 1)).toBe(true);
  });

  it("requires user verification, at registration and at sign-in", async () => {
    const noUv = new SoftAuthenticator(rp, { userVerified: false });
    expect(await register(noUv)).toEqual({ ok: false, reason: "not_verified" });
    const auth = new SoftAuthenticator(rp);
    await register(auth);
    const { challengeId, options } = await startPasskeyAuthentication(...cmd(opened.db), { rp });
    const sneaky = new SoftAuthenticator(rp, { userVerified: false });
    Object.assign(sneaky, { credentialId: auth.credentialId, privateKey: auth.privateKey });
    const response = sneaky.authenticate(options.challenge, Buffer.from(owner.id).toString("base64url"));
    expect(await finishPasskeyAuthentication(...authCmd(opened.db, { source }), { challengeId, response, rp })).toEqual({
      ok: false,
      reason: "not_verified",
    });
  });

  it("checks the origin and relying party the server gives, not the client's", async () => {
    const auth = new SoftAuthenticator(rp);
    await register(auth);
    expect(await signIn(auth, "https://evil.example")).toEqual({ ok: false, reason: "not_verified" });
    const other = new SoftAuthenticator({ id: "evil.example", origin: "https://preq.example.com" });
    const { challengeId, options } = await startPasskeyRegistration(...cmd(opened.db), { owner, rp });
    expect(
      await finishPasskeyRegistration(...cmd(opened.db, audit), {
        owner,
        challengeId,
        response: other.register(options.challenge),
        name: "x",
        rp,
      }),
    ).toEqual({ ok: false, reason: "not_verified" });
  });

  it("uses a challenge once: a replayed sign-in response is refused", async () => {
    const auth = new SoftAuthenticator(rp);
    await register(auth);
    const { challengeId, options } = await startPasskeyAuthentication(...cmd(opened.db), { rp });
    const response = auth.authenticate(options.challenge, Buffer.from(owner.id).toString("base64url"));
    expect((await finishPasskeyAuthentication(...authCmd(opened.db, { source }), { challengeId, response, rp })).ok).toBe(true);
    expect(await finishPasskeyAuthentication(...authCmd(opened.db, { source }), { challengeId, response, rp })).toEqual({
      ok: false,
      reason: "no_challenge",
    });
  });

  it("refuses malformed input and unknown credentials without throwing", async () => {
    const { challengeId } = await startPasskeyAuthentication(...cmd(opened.db), { rp });
    expect(
      await finishPasskeyAuthentication(...authCmd(opened.db, { source }), { challengeId, response: { id: 5 }, rp }),
    ).toEqual({
      ok: false,
      reason: "invalid_response",
    });
    expect(
      await finishPasskeyAuthentication(...authCmd(opened.db, { source }), { challengeId: "nope", response: null, rp }),
    ).toEqual({
      ok: false,
      reason: "no_challenge",
    });
    const stranger = new SoftAuthenticator(rp);
    expect(await signIn(stranger)).toEqual({ ok: false, reason: "unknown_credential" });
  });

  it("keeps at most MAX_PENDING_AUTHENTICATIONS anonymous sign-in challenges", async () => {
    for (let i = 0; i < MAX_PENDING_AUTHENTICATIONS + 20; i++)
      await startPasskeyAuthentication(...cmd(opened.db), { rp }, 1_000_000 + i);
    const n = await opened.db
      .selectFrom("webauthn_challenges")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirstOrThrow();
    expect(Number(n.n)).toBe(MAX_PENDING_AUTHENTICATIONS);
  });

  it("refuses a bad name, then removes a passkey with its audit entry", async () => {
    const auth = new SoftAuthenticator(rp);
    expect(await register(auth, "bad\u202ename")).toMatchObject({ ok: false, reason: "invalid_name" });
    const added = await register(auth, "Phone");
    if (!added.ok) throw new Error();
    expect(await removePasskey(...cmd(opened.db, audit), { ownerId: owner.id, passkeyId: "missing" })).toEqual({
      ok: false,
      reason: "not_found",
    });
    expect(await removePasskey(...cmd(opened.db, audit), { ownerId: owner.id, passkeyId: added.passkey.id })).toMatchObject({
      ok: true,
    });
    expect(await listPasskeys(opened.db, owner.id)).toEqual([]);
    const actions = (await opened.db.selectFrom("audit_log").select("action").orderBy("seq").execute()).map((r) => r.action);
    expect(actions).toEqual(["owner.passkey_add", "owner.passkey_remove"]);
    expect((await signIn(auth)).ok).toBe(false);
  });
});
