import { redirect, type AppLoadContext } from "@remix-run/node";
import type { Owner, Session } from "../../../db/schema";
import { ownerActor, requestContext, type ActorContext } from "../domain/context";
import { readSessionId, serializeSessionCookie, touchSession } from "../auth/session.server";
import { isSudo } from "../auth/two-factor/sudo.server";

export interface OwnerSession {
  owner: Owner;
  session: Session;
  /** The secret cookie id of this session (to re-sign the cookie). */
  sessionId: string;
  /** This request, acted on by the owner: what the owner's commands take. */
  ctx: ActorContext;
}

/**
 * The signed-in owner for this request, or null. Looked up once per request
 * (Remix runs several loaders at once) and, when found, the renewed session
 * cookie is queued for the response: every authenticated response re-sends it.
 */
export function getOwnerSession(request: Request, context: AppLoadContext): Promise<OwnerSession | null> {
  context.request.auth ??= lookupOwnerSession(request, context);
  return context.request.auth as Promise<OwnerSession | null>;
}

async function lookupOwnerSession(request: Request, context: AppLoadContext): Promise<OwnerSession | null> {
  const { db, sessionCookie } = context.services;
  const sessionId = await readSessionId(sessionCookie, request.headers.get("cookie"));
  if (!sessionId) return null;
  const session = await touchSession(db, sessionCookie, sessionId, { ip: context.request.clientIp });
  if (!session) return null;
  const owner = await db.selectFrom("owners").selectAll().where("id", "=", session.owner_id).executeTakeFirst();
  if (!owner) return null;
  context.request.sessionCookieHeader = await serializeSessionCookie(sessionCookie, sessionId, session);
  return { owner, session, sessionId, ctx: requestContext(request, context.request, ownerActor(owner)) };
}

/**
 * The signed-in owner, or a redirect to the sign-in page that comes back here.
 * Call it on the first line of every loader and action that needs the owner.
 */
export async function requireOwner(request: Request, context: AppLoadContext): Promise<OwnerSession> {
  const found = await getOwnerSession(request, context);
  if (found) return found;
  const url = new URL(request.url);
  const back = `${url.pathname}${url.search}`;
  throw redirect(back === "/" ? "/login" : `/login?redirectTo=${encodeURIComponent(back)}`);
}

/**
 * A same-site path to go to after sign-in, or the fallback. Rejects absolute URLs,
 * protocol-relative `//host`, backslashes and control characters (which browsers
 * drop or turn into `/`), and paths that only normalize into `//host`
 * (`/a/..//evil.example`). The sign-in, sign-out and setup pages are never targets.
 */
export function safeRedirectPath(to: unknown, fallback = "/tasks"): string {
  if (typeof to !== "string" || to.length > 2048 || !to.startsWith("/") || to.startsWith("//")) return fallback;
  // eslint-disable-next-line no-control-regex
  if (/[\\\u0000-\u001f\u007f]/.test(to)) return fallback;
  try {
    const base = "http://preqstation.invalid";
    const url = new URL(to, base);
    const path = `${url.pathname}${url.search}${url.hash}`;
    if (url.origin !== base || path.startsWith("//")) return fallback;
    if (url.pathname === "/login" || url.pathname === "/logout" || url.pathname === "/setup") return fallback;
    return path;
  } catch {
    return fallback;
  }
}

/**
 * Sudo mode in front of a sensitive action (contract §6: creating an API token, every
 * change under `/settings/two-factor`, ending the other sessions). Call it right after
 * `requireOwner`, before the form is read: without a sign-in or a `/sudo`
 * re-authentication within SUDO_MAX_AGE seconds it throws a `303` to
 * `/sudo?redirectTo=<page>` and nothing changes. `page` is where `/sudo` sends the owner
 * back to; by default the path of this request.
 */
export function requireSudo(request: Request, context: AppLoadContext, owner: OwnerSession, page?: string): void {
  if (isSudo(owner.session, Date.now(), context.services.config.sudoMaxAgeSeconds)) return;
  const back = safeRedirectPath(page ?? new URL(request.url).pathname);
  throw redirect(`/sudo?redirectTo=${encodeURIComponent(back)}`, 303);
}

/** Whether this owner's session is in sudo mode now (for a page to say so). */
export function inSudoMode(context: AppLoadContext, owner: OwnerSession): boolean {
  return isSudo(owner.session, Date.now(), context.services.config.sudoMaxAgeSeconds);
}
