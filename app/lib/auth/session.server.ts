import { createHash, randomBytes } from "node:crypto";
import type { Cookie } from "@remix-run/node";
import { deriveCookieKey, scopedCookie } from "../cookies.server";
import type { Session } from "../../../db/schema";
import type { Config } from "../env.server";
import { isStorageUnavailable, nowIso, type Db } from "../db.server";

/**
 * Browser sessions: the `session` cookie holds only a random 256-bit id, signed
 * with HMAC-SHA256 (Remix signed cookies); the server keeps a row keyed by the
 * id's SHA-256, so logout and revocation take effect at once.
 */
export interface SessionCookie {
  cookie: Cookie;
  maxAgeSeconds: number;
  absoluteMaxAgeSeconds: number;
}

/** Cookie values carry a purpose prefix, so no other signed value can pass as a session. */
const VALUE_PREFIX = "sess1.";
/** Stored idle expiry is bumped at most this often, so a busy page does not write on every view. */
export const IDLE_BUMP_INTERVAL_MS = 60_000;

const KEY_LABEL = "preqstation/session-cookie/v1";

/**
 * Keys for the session cookie are derived from SESSION_SECRET for this one
 * purpose, so a value signed for anything else (now or later) never verifies here.
 */
export function deriveSessionKey(secret: string): string {
  return deriveCookieKey(secret, KEY_LABEL);
}

export function createSessionCookie(config: Config): SessionCookie {
  return {
    cookie: scopedCookie("session", config, { keyLabel: KEY_LABEL, maxAgeSeconds: config.sessionMaxAgeSeconds }),
    maxAgeSeconds: config.sessionMaxAgeSeconds,
    absoluteMaxAgeSeconds: config.sessionAbsoluteMaxAgeSeconds,
  };
}

export function hashSessionId(id: string): string {
  return createHash("sha256").update(id).digest("hex");
}

export interface NewSession {
  /** The secret id for the cookie; never stored. */
  id: string;
  row: Session;
}

/**
 * Creates a session row with a brand-new id (sign-in always issues a new one).
 * Rows that have expired are deleted on the way, so the table never grows with
 * sessions nobody came back to.
 */
export async function createSession(
  db: Db,
  sc: SessionCookie,
  input: { ownerId: string; ip: string; userAgent: string },
  now = Date.now(),
): Promise<NewSession> {
  const id = randomBytes(32).toString("base64url");
  const row: Session = {
    id_hash: hashSessionId(id),
    public_id: randomBytes(12).toString("base64url"),
    owner_id: input.ownerId,
    created_at: nowIso(now),
    last_seen_at: nowIso(now),
    idle_expires_at: nowIso(now + sc.maxAgeSeconds * 1000),
    absolute_expires_at: nowIso(now + sc.absoluteMaxAgeSeconds * 1000),
    ip: input.ip,
    user_agent: input.userAgent.slice(0, 512),
  };
  const nowStr = nowIso(now);
  await db
    .deleteFrom("sessions")
    .where((eb) => eb.or([eb("idle_expires_at", "<=", nowStr), eb("absolute_expires_at", "<=", nowStr)]))
    .execute();
  await db.insertInto("sessions").values(row).execute();
  return { id, row };
}

/** How many `session` cookies of one header are tried; a browser sends one, at most a few. */
const MAX_SESSION_COOKIES_TRIED = 4;

/**
 * Reads the session id from a Cookie header. A missing, tampered or foreign value
 * is `null` (an anonymous visitor), never an error. When the header carries more
 * than one `session` cookie (a stale one set for another path or domain, or one a
 * sibling site planted), the first that verifies wins: an unverifiable duplicate
 * cannot sign the owner out.
 */
export async function readSessionId(sc: SessionCookie, cookieHeader: string | null): Promise<string | null> {
  if (!cookieHeader) return null;
  let tried = 0;
  for (const part of cookieHeader.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1 || part.slice(0, eq).trim() !== sc.cookie.name) continue;
    if (++tried > MAX_SESSION_COOKIES_TRIED) break;
    const id = await verifiedId(sc, `${sc.cookie.name}=${part.slice(eq + 1).trim()}`);
    if (id) return id;
  }
  return null;
}

async function verifiedId(sc: SessionCookie, single: string): Promise<string | null> {
  let value: unknown;
  try {
    value = await sc.cookie.parse(single);
  } catch {
    return null;
  }
  if (typeof value !== "string" || !value.startsWith(VALUE_PREFIX)) return null;
  const id = value.slice(VALUE_PREFIX.length);
  return /^[A-Za-z0-9_-]{43}$/.test(id) ? id : null;
}

/**
 * Finds the live session for an id, or null when it is unknown, revoked or expired
 * (an expired row is deleted on the way). Bumps the stored idle expiry and last-seen
 * time at most once a minute, never past the absolute cap.
 */
export async function touchSession(db: Db, sc: SessionCookie, id: string, meta: { ip: string }, now = Date.now()) {
  const idHash = hashSessionId(id);
  const row = await db.selectFrom("sessions").selectAll().where("id_hash", "=", idHash).executeTakeFirst();
  if (!row) return null;
  const nowStr = nowIso(now);
  if (row.idle_expires_at <= nowStr || row.absolute_expires_at <= nowStr) {
    await db
      .deleteFrom("sessions")
      .where("id_hash", "=", idHash)
      .execute()
      .catch((error: unknown) => {
        if (!isStorageUnavailable(error)) throw error; // expired either way; the row goes at the next sign-in
      });
    return null;
  }
  if (now - Date.parse(row.last_seen_at) >= IDLE_BUMP_INTERVAL_MS) {
    const idle = nowIso(Math.min(now + sc.maxAgeSeconds * 1000, Date.parse(row.absolute_expires_at)));
    try {
      await db
        .updateTable("sessions")
        .set({ last_seen_at: nowStr, idle_expires_at: idle, ip: meta.ip })
        .where("id_hash", "=", idHash)
        .execute();
    } catch (error) {
      // A full or read-only disk must not sign the owner out of pages that only read:
      // the session stays valid until its stored expiry, and the bump is retried next time.
      if (isStorageUnavailable(error)) return row;
      throw error;
    }
    return { ...row, last_seen_at: nowStr, idle_expires_at: idle, ip: meta.ip };
  }
  return row;
}

/**
 * The Set-Cookie header for a live session: signed with the first secret (so a
 * cookie signed with an older one is re-signed), with a fresh Max-Age that never
 * reaches past the absolute cap.
 */
export async function serializeSessionCookie(sc: SessionCookie, id: string, session: Session, now = Date.now()) {
  const remaining = Math.floor((Date.parse(session.absolute_expires_at) - now) / 1000);
  return sc.cookie.serialize(`${VALUE_PREFIX}${id}`, { maxAge: Math.max(0, Math.min(sc.maxAgeSeconds, remaining)) });
}

/** A Set-Cookie header that removes the cookie from the browser. */
export function clearSessionCookie(sc: SessionCookie): Promise<string> {
  return sc.cookie.serialize("", { maxAge: 0, expires: new Date(0) });
}

export async function deleteSession(db: Db, id: string): Promise<void> {
  await db.deleteFrom("sessions").where("id_hash", "=", hashSessionId(id)).execute();
}

export async function listSessions(db: Db, ownerId: string, now = Date.now()): Promise<Session[]> {
  const nowStr = nowIso(now);
  return db
    .selectFrom("sessions")
    .selectAll()
    .where("owner_id", "=", ownerId)
    .where("idle_expires_at", ">", nowStr)
    .where("absolute_expires_at", ">", nowStr)
    .orderBy("last_seen_at", "desc")
    .execute();
}

/** Deletes a session by its public id; returns whether one was deleted. */
export async function revokeSessionByPublicId(db: Db, ownerId: string, publicId: string): Promise<Session | undefined> {
  return db
    .deleteFrom("sessions")
    .where("owner_id", "=", ownerId)
    .where("public_id", "=", publicId)
    .returningAll()
    .executeTakeFirst();
}

/** Deletes every session of the owner except `keepIdHash` (or all of them when null). */
export async function revokeOtherSessions(db: Db, ownerId: string, keepIdHash: string | null): Promise<number> {
  let q = db.deleteFrom("sessions").where("owner_id", "=", ownerId);
  if (keepIdHash) q = q.where("id_hash", "!=", keepIdHash);
  const result = await q.executeTakeFirst();
  return Number(result.numDeletedRows);
}
