import type { Owner } from "../../../db/schema";
import { runCommand, type CommandDeps } from "../command/command.server";
import type { Db } from "../db.server";
import type { ActorContext, RequestContext } from "../domain/context";
import { recordEvent } from "../security/events.server";
import { createOwner, OwnerExistsError, ownerExists } from "./owner.server";
import type { PasswordDeps } from "./password.server";
import { createSession, type NewSession, type SessionCookie } from "./session.server";
import type { SetupCode } from "./setup.server";
import type { AttemptSlots } from "./sign-in.server";

/**
 * Whether the setup page may still create the owner: a setup code is active and no
 * owner exists. When not, the attempt is recorded (coalesced per client: anyone can
 * post to /setup) and the page answers 404.
 */
export async function setupIsOpen(deps: { db: Db; setupCode: SetupCode }, ctx: RequestContext): Promise<boolean> {
  if (deps.setupCode.active && !(await ownerExists(deps.db))) return true;
  await recordEvent(deps.db, ctx, { type: "setup", outcome: "blocked", details: { reason: "owner_exists" } }, { coalesce: true });
  return false;
}

export type SetupResult = { ok: true; owner: Owner; session: NewSession } | { ok: false; reason: "wrong_code" | "owner_exists" };

/**
 * First-run setup from the web: the one-time code from the server log must match
 * (a wrong one is a coalesced `setup` failure event and keeps counting against the
 * attempt guard). Then, in one transaction, the owner and a session for this browser
 * are created with the `setup` success event; the code is never valid again. A
 * second owner is impossible (the database refuses it): a request that loses that
 * race gets `owner_exists`, recorded as blocked.
 */
export async function setUpOwner(
  deps: CommandDeps & PasswordDeps & { sessionCookie: SessionCookie; setupCode: SetupCode },
  ctx: RequestContext,
  input: { setupCode: string; email: string; password: string; attempt: AttemptSlots },
): Promise<SetupResult> {
  const { db } = deps;
  if (!deps.setupCode.matches(input.setupCode)) {
    // Coalesced per client like other anonymous events: only a code from the log stops a flood of these.
    await recordEvent(db, ctx, { type: "setup", outcome: "failure", details: { reason: "wrong_code" } }, { coalesce: true });
    return { ok: false, reason: "wrong_code" };
  }
  input.attempt.release();
  const passwordHash = await deps.passwords.hash(input.password);
  try {
    const created = await runCommand(deps, ctx, async (tx) => {
      const owner = await createOwner(tx.db, { email: input.email, passwordHash });
      const session = await createSession(tx.db, deps.sessionCookie, { ownerId: owner.id, ip: ctx.ip, userAgent: ctx.userAgent });
      await tx.event({ type: "setup", outcome: "success", details: { email: owner.email } });
      return { owner, session };
    });
    deps.setupCode.consume();
    return { ok: true, ...created };
  } catch (error) {
    if (!(error instanceof OwnerExistsError)) throw error;
    await recordEvent(db, ctx, { type: "setup", outcome: "blocked", details: { reason: "owner_exists" } });
    return { ok: false, reason: "owner_exists" };
  }
}

/**
 * `owner create` on the CLI: the owner and its `setup` success event (`via: cli`) in
 * one transaction. No setup code: whoever runs the CLI already holds the database.
 */
export async function createOwnerFromCli(
  deps: CommandDeps & PasswordDeps,
  ctx: ActorContext,
  input: { email: string; password: string },
): Promise<{ ok: true; owner: Owner } | { ok: false; reason: "owner_exists" }> {
  const passwordHash = await deps.passwords.hash(input.password);
  try {
    const owner = await runCommand(deps, ctx, async (tx) => {
      const created = await createOwner(tx.db, { email: input.email, passwordHash });
      await tx.event({ type: "setup", outcome: "success", details: { email: created.email, via: "cli" } });
      return created;
    });
    return { ok: true, owner };
  } catch (error) {
    if (error instanceof OwnerExistsError) return { ok: false, reason: "owner_exists" };
    throw error;
  }
}
