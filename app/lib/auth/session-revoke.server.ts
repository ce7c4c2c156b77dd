import type { Session } from "../../../db/schema";
import { runCommand, type CommandDeps } from "../command/command.server";
import type { ActorContext } from "../domain/context";
import { revokeOtherSessions, revokeSessionByPublicId } from "./session.server";

export type RevokeSessionResult = { ok: true; wasCurrent: boolean } | { ok: false; reason: "not_found" };

/**
 * Ends one of the owner's sessions (from the Sessions page): the row is deleted, so
 * the cookie that carries it is refused on its very next request; with it, in one
 * transaction, the `session_revoked` event and the `session.revoke` audit entry.
 * `wasCurrent` tells the page to sign this browser out too.
 */
export async function revokeSession(
  deps: CommandDeps,
  ctx: ActorContext,
  input: { current: Session; publicId: string },
): Promise<RevokeSessionResult> {
  return runCommand(deps, ctx, async (tx) => {
    const trx = tx.db;
    const row = await revokeSessionByPublicId(trx, input.current.owner_id, input.publicId);
    if (!row) return { ok: false, reason: "not_found" } as const;
    const wasCurrent = row.id_hash === input.current.id_hash;
    await tx.event({
      type: "session_revoked",
      outcome: "success",
      details: { session: input.publicId, current: wasCurrent, via: "sessions_page" },
    });
    await tx.audit({
      action: "session.revoke",
      resourceType: "session",
      resourceId: input.publicId,
      changes: { state: { before: "active", after: "revoked" } },
    });
    return { ok: true, wasCurrent } as const;
  });
}

/**
 * Ends every session of the owner but `current`, with one `session_revoked` event and
 * one `session.revoke_others` audit entry naming them, in one transaction. When there
 * was none, nothing is written. Returns how many ended.
 */
export async function revokeAllOtherSessions(deps: CommandDeps, ctx: ActorContext, input: { current: Session }): Promise<number> {
  const { current } = input;
  return runCommand(deps, ctx, async (tx) => {
    const trx = tx.db;
    const others = await trx
      .selectFrom("sessions")
      .select("public_id")
      .where("owner_id", "=", current.owner_id)
      .where("id_hash", "!=", current.id_hash)
      .orderBy("created_at")
      .execute();
    const n = await revokeOtherSessions(trx, current.owner_id, current.id_hash);
    if (n === 0) return 0;
    const ids = others.map((o) => o.public_id);
    await tx.event({
      type: "session_revoked",
      outcome: "success",
      details: { sessions: ids, count: n, kept: current.public_id, via: "sessions_page" },
    });
    await tx.audit({
      action: "session.revoke_others",
      resourceType: "session",
      resourceId: current.public_id,
      changes: { other_sessions: { before: ids, after: [] } },
    });
    return n;
  });
}
