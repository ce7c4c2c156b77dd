import { createCookie } from "@remix-run/node";
import { beforeEach, describe, expect, it } from "vitest";
import type { Db } from "~/lib/db.server";
import { loadConfig } from "~/lib/env.server";
import { createOwner } from "../../app/lib/auth/owner.server";
import {
  clearSessionCookie,
  createSession,
  createSessionCookie,
  deleteSession,
  deriveSessionKey,
  hashSessionId,
  IDLE_BUMP_INTERVAL_MS,
  listSessions,
  readSessionId,
  revokeOtherSessions,
  revokeSessionByPublicId,
  serializeSessionCookie,
  touchSession,
  type SessionCookie,
} from "../../app/lib/auth/session.server";
import { testDatabase } from "../support/kit";

const SECRET_A = "a".repeat(16) + "first-secret-used-to-sign-now";
const SECRET_B = "b".repeat(16) + "older-secret-still-accepted";
const MINUTE = 60_000;
const T0 = Date.parse("2026-11-27T12:00:00.000Z");

function cookieFor(secrets: string[], extra: Record<string, string> = {}): SessionCookie {
  return createSessionCookie(loadConfig({ DATABASE_PATH: ":memory:", SESSION_SECRET: secrets.join(","), ...extra }));
}

/** The `session=…` pair of a Set-Cookie header, as a browser would send it back. */
const pair = (setCookie: string) => setCookie.split(";")[0]!;

let db: Db;
let ownerId: string;
const sc = cookieFor([SECRET_A]);

beforeEach(async () => {
  db = (await testDatabase()).db;
  ownerId = (await createOwner(db, { email: "owner@example.com", passwordHash: "x" })).id;
});

async function newSession(cookie = sc, now = T0) {
  return createSession(db, cookie, { ownerId, ip: "192.0.2.1", userAgent: "test" }, now);
}

describe("browser sessions", () => {
  it("stores only the SHA-256 of a random 256-bit id, and the cookie carries the id back", async () => {
    const { id, row } = await newSession();
    expect(Buffer.from(id, "base64url")).toHaveLength(32);
    expect(row.id_hash).toBe(hashSessionId(id));
    const stored = await db.selectFrom("sessions").selectAll().execute();
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain(id);

    const header = await serializeSessionCookie(sc, id, row, T0);
    expect(await readSessionId(sc, pair(header))).toBe(id);
    expect((await touchSession(db, sc, id, { ip: "192.0.2.1" }, T0 + 1000))?.id_hash).toBe(row.id_hash);
  });

  it("issues a new id for every session, so sign-in never reuses one", async () => {
    const a = await newSession();
    const b = await newSession();
    expect(a.id).not.toBe(b.id);
    expect(a.row.public_id).not.toBe(b.row.public_id);
  });

  it("serializes the cookie with the contract's flags and Max-Age", async () => {
    const { id, row } = await newSession();
    const header = await serializeSessionCookie(sc, id, row, T0);
    const attributes = header
      .split(";")
      .slice(1)
      .map((a) => a.trim());
    expect(attributes.sort()).toEqual(["HttpOnly", "Max-Age=86400", "Path=/", "SameSite=Strict", "Secure"]);
    const insecure = cookieFor([SECRET_A], { COOKIE_SECURE: "false" });
    expect(await serializeSessionCookie(insecure, id, row, T0)).not.toMatch(/Secure/i);
  });

  it("treats a tampered, foreign or garbage cookie as anonymous", async () => {
    const { id, row } = await newSession();
    const good = pair(await serializeSessionCookie(sc, id, row, T0));
    const value = good.slice("session=".length);
    const [payload, signature] = value.split(".") as [string, string];
    const flipped = `session=${payload}.${signature.startsWith("A") ? "B" : "A"}${signature.slice(1)}`;
    // the same id signed directly with the raw secret (not the purpose-derived key) is not a session cookie
    const rawKey = pair(await createCookie("session", { secrets: [SECRET_A] }).serialize(`sess1.${id}`));
    // a value signed with the right key but without the session purpose prefix is not either
    const noPrefix = pair(await createCookie("session", { secrets: [deriveSessionKey(SECRET_A)] }).serialize(id));
    for (const header of [flipped, `session=${payload}`, rawKey, noPrefix, "session=", "session=%%%", "other=1", ""]) {
      expect(await readSessionId(sc, header), header).toBeNull();
    }
    expect(await readSessionId(sc, good)).toBe(id);
  });

  it("prefers the session cookie that verifies when the header carries several, so a planted duplicate cannot sign the owner out", async () => {
    const { id, row } = await newSession();
    const good = pair(await serializeSessionCookie(sc, id, row, T0));
    for (const header of [
      `session=garbage; ${good}`,
      `session=; ${good}`,
      `other=1; session=garbage; theme=dark; ${good}`,
      `${good}; session=garbage`,
    ]) {
      expect(await readSessionId(sc, header), header).toBe(id);
    }
    // a valid cookie behind many planted ones is not searched for without bound
    expect(await readSessionId(sc, `${Array.from({ length: 10 }, (_, i) => `session=g${i}`).join("; ")}; ${good}`)).toBeNull();
    expect(await readSessionId(sc, "session=garbage; session=other-garbage")).toBeNull();
  });

  it("accepts a cookie signed with the second secret and re-signs it with the first", async () => {
    const { id, row } = await newSession();
    const oldOnly = cookieFor([SECRET_B]);
    const rotated = cookieFor([SECRET_A, SECRET_B]);
    const newOnly = cookieFor([SECRET_A]);
    const signedWithOld = pair(await serializeSessionCookie(oldOnly, id, row, T0));

    expect(await readSessionId(newOnly, signedWithOld)).toBeNull(); // without B in the list it would be refused
    expect(await readSessionId(rotated, signedWithOld)).toBe(id);

    const resigned = pair(await serializeSessionCookie(rotated, id, row, T0));
    expect(resigned).not.toBe(signedWithOld);
    expect(await readSessionId(newOnly, resigned)).toBe(id);
    expect(await readSessionId(oldOnly, resigned)).toBeNull();
  });

  it("ends a session that was idle longer than SESSION_MAX_AGE, and deletes its row", async () => {
    const { id } = await newSession();
    expect(await touchSession(db, sc, id, { ip: "x" }, T0 + 86_400_000 - 1)).not.toBeNull();
    const { id: idle } = await newSession();
    expect(await touchSession(db, sc, idle, { ip: "x" }, T0 + 86_400_000)).toBeNull();
    expect(await db.selectFrom("sessions").select("id_hash").where("id_hash", "=", hashSessionId(idle)).execute()).toEqual([]);
  });

  it("moves the idle expiry on activity, at most once a minute", async () => {
    const { id, row } = await newSession();
    const soon = await touchSession(db, sc, id, { ip: "198.51.100.7" }, T0 + 30_000);
    expect(soon?.idle_expires_at).toBe(row.idle_expires_at); // under a minute: no write
    const later = await touchSession(db, sc, id, { ip: "198.51.100.7" }, T0 + IDLE_BUMP_INTERVAL_MS);
    expect(later?.idle_expires_at).toBe(new Date(T0 + IDLE_BUMP_INTERVAL_MS + 86_400_000).toISOString());
    const stored = await db.selectFrom("sessions").selectAll().executeTakeFirstOrThrow();
    expect(stored.idle_expires_at).toBe(later?.idle_expires_at);
    expect(stored.last_seen_at).toBe(new Date(T0 + IDLE_BUMP_INTERVAL_MS).toISOString());
    expect(stored.ip).toBe("198.51.100.7");
  });

  it("ends a session at SESSION_ABSOLUTE_MAX_AGE however active it was, and never lets the cookie outlive it", async () => {
    const { id, row } = await newSession();
    const absolute = T0 + 604_800_000;
    let now = T0;
    let last = row;
    // active every 12 hours for a week
    while (now + 12 * 3_600_000 < absolute) {
      now += 12 * 3_600_000;
      const touched = await touchSession(db, sc, id, { ip: "x" }, now);
      expect(touched).not.toBeNull();
      last = touched!;
      expect(Date.parse(last.idle_expires_at)).toBeLessThanOrEqual(absolute);
    }
    const header = await serializeSessionCookie(sc, id, last, absolute - 90 * MINUTE);
    expect(header).toContain(`Max-Age=${90 * 60}`);
    expect(await touchSession(db, sc, id, { ip: "x" }, absolute)).toBeNull();
  });

  it("revokes at once: by deletion, by public id, and all but the current one", async () => {
    const a = await newSession();
    const b = await newSession();
    const c = await newSession();
    await deleteSession(db, a.id);
    expect(await touchSession(db, sc, a.id, { ip: "x" }, T0 + 1)).toBeNull();

    expect(await revokeSessionByPublicId(db, "someone-else", b.row.public_id)).toBeUndefined();
    expect((await revokeSessionByPublicId(db, ownerId, b.row.public_id))?.public_id).toBe(b.row.public_id);
    expect(await touchSession(db, sc, b.id, { ip: "x" }, T0 + 1)).toBeNull();

    const d = await newSession();
    expect(await revokeOtherSessions(db, ownerId, c.row.id_hash)).toBe(1);
    expect(await touchSession(db, sc, d.id, { ip: "x" }, T0 + 1)).toBeNull();
    expect(await touchSession(db, sc, c.id, { ip: "x" }, T0 + 1)).not.toBeNull();
    expect((await listSessions(db, ownerId, T0 + 1)).map((s) => s.public_id)).toEqual([c.row.public_id]);
  });

  it("deletes expired sessions when a new one is created, and keeps live ones", async () => {
    const stale = await newSession(sc, T0);
    const live = await newSession(sc, T0 + 86_400_000 - MINUTE);
    await newSession(sc, T0 + 86_400_000 + 1);
    const hashes = (await db.selectFrom("sessions").select("id_hash").execute()).map((r) => r.id_hash);
    expect(hashes).not.toContain(stale.row.id_hash);
    expect(hashes).toContain(live.row.id_hash);
    expect(hashes).toHaveLength(2);
  });

  it("keeps a session valid, unbumped, while the database refuses writes (a full disk)", async () => {
    const opened = await testDatabase({ file: true });
    try {
      const owner = await createOwner(opened.db, { email: "o@example.com", passwordHash: "x" });
      const { id, row } = await createSession(opened.db, sc, { ownerId: owner.id, ip: "x", userAgent: "t" }, T0);
      opened.sqlite.pragma("query_only = ON"); // every write now fails with SQLITE_READONLY
      const touched = await touchSession(opened.db, sc, id, { ip: "x" }, T0 + 5 * MINUTE);
      expect(touched?.idle_expires_at).toBe(row.idle_expires_at);
      expect(await touchSession(opened.db, sc, id, { ip: "x" }, T0 + 86_400_000 + 1)).toBeNull();
    } finally {
      await opened.close();
    }
  });

  it("clears the cookie with Max-Age=0", async () => {
    expect(await clearSessionCookie(sc)).toMatch(/^session=; .*Max-Age=0/);
  });
});
