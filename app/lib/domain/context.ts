import type { AuditActorType, AuditChannel, Owner } from "../../../db/schema";

/**
 * The one description of "who asks, from where" that every domain command, security
 * event and audit entry takes. The HTTP layer builds it from the server's per-request
 * facts (`context.request`) and the URL, with the signed-in owner or the bearer token
 * as the actor; the CLI builds one per run. Nothing here knows about HTTP.
 */
export interface Actor {
  type: AuditActorType;
  id: string;
  /** What the audit log shows: the owner's email, the token's name, `cli (user@host)`. */
  label: string;
}

export interface RequestContext {
  /** Unique per request (or CLI run): in logs, audit entries and the X-Request-Id header. */
  requestId: string;
  /** The client's address as the server decided it (never a header a client wrote); `local` for the CLI. */
  ip: string;
  userAgent: string;
  /** The request's path (no query); `cli` for the CLI. */
  path: string;
  /** Who acts: null for an anonymous request (sign-in, setup, a refused request). */
  actor: Actor | null;
  /** Through which door a change comes when it is not the actor's usual one (the MCP endpoint). */
  channel?: AuditChannel;
}

/** A context whose actor is known: what a change (and so an audit entry) needs. */
export interface ActorContext extends RequestContext {
  actor: Actor;
}

/** The facts the server computes for every request before routing (`AppLoadContext["request"]`). */
export interface RequestFacts {
  id: string;
  clientIp: string;
  userAgent: string;
}

export function requestContext(request: { url: string }, facts: RequestFacts, actor: Actor): ActorContext;
export function requestContext(request: { url: string }, facts: RequestFacts, actor?: Actor | null): RequestContext;
export function requestContext(request: { url: string }, facts: RequestFacts, actor: Actor | null = null): RequestContext {
  return { requestId: facts.id, ip: facts.clientIp, userAgent: facts.userAgent, path: new URL(request.url).pathname, actor };
}

/** The same request, now acted on by `actor` (after sign-in or setup identified one). */
export function withActor(ctx: RequestContext, actor: Actor): ActorContext {
  return { ...ctx, actor };
}

export function ownerActor(owner: Pick<Owner, "id" | "email">): Actor {
  return { type: "owner", id: owner.id, label: owner.email };
}

export function tokenActor(token: { id: number; name: string }): Actor {
  return { type: "token", id: String(token.id), label: token.name };
}

/** The context of one CLI run: its actor names the local user and host. */
export function cliContext(input: { requestId: string; user: string; host: string }): ActorContext {
  return {
    requestId: input.requestId,
    ip: "local",
    userAgent: "preqstation-cli",
    path: "cli",
    actor: { type: "cli", id: "cli", label: `cli (${input.user}@${input.host})` },
  };
}
