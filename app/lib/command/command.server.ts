import type { AuditEntry } from "../../../db/schema";
import { appendAudit, type AuditContext, type AuditInput } from "../audit/log.server";
import type { Change, ChangePublisher } from "../audit/actions";
import type { AuditSigner } from "../audit/signing.server";
import { transaction, type Db, type Trx } from "../db.server";
import type { ActorContext, RequestContext } from "../domain/context";
import { recordEvent, type RecordOptions, type SecurityEvent } from "../security/events.server";

/**
 * One command shape for every state change: `command(deps, ctx, input)`.
 *
 *   deps   what a command needs that outlives a request (`Services` is one: the server
 *          hands `context.services` over as it is; a test builds `{ db, auditSigner, changes }`)
 *   ctx    who asks, from where (`RequestContext`): built once per request by one function
 *          per door (pages, the bearer guard for the API and MCP, the CLI)
 *   input  what was asked for, already parsed by the caller's zod schema
 *
 * Inside, `runCommand(deps, ctx, (tx) => …)` opens the command's transaction. Through
 * `tx` it writes its audit entry (signed with `deps.auditSigner`) and its security
 * events, in that transaction. Once the transaction has committed, every audited change
 * is published (`deps.changes`): the live pages today; the webhook outbox and
 * PostgreSQL notifications hook into this one place. So no route, API handler, MCP
 * tool or CLI command ever touches the signing key, the change hub or a transaction.
 */

export type { Change, ChangePublisher };

export interface CommandDeps {
  readonly db: Db;
  readonly auditSigner: AuditSigner;
  readonly changes: ChangePublisher;
}

/** The open transaction of one command. */
export interface CommandTx {
  /** The transaction: reads and writes through it commit (or roll back) together. */
  readonly db: Trx;
  /** The context the command runs in. */
  readonly ctx: RequestContext;
  /**
   * Appends the change's signed audit entry in this transaction; published after commit.
   * `as` names the actor when the context has none yet (sign-in and setup identify one).
   */
  audit(input: AuditInput, options?: { as?: ActorContext; now?: number }): Promise<AuditEntry>;
  /** Records a security event in this transaction (it rolls back with the change). */
  event(event: SecurityEvent, options?: Pick<RecordOptions, "coalesce" | "now">): Promise<void>;
}

/**
 * Runs `fn` in one transaction and publishes the changes it audited once that
 * transaction has committed. Called inside another command's transaction (a `deps.db`
 * that is already one), it joins it, and its changes are published by whoever holds
 * `deps.changes` (see `deferredChanges`).
 */
export async function runCommand<T>(deps: CommandDeps, ctx: RequestContext, fn: (tx: CommandTx) => Promise<T>): Promise<T> {
  const changes: Change[] = [];
  const result = await transaction(deps.db, (trx) => fn(commandTx(deps, ctx, trx, changes)));
  if (changes.length) deps.changes.publish(changes);
  return result;
}

function commandTx(deps: CommandDeps, ctx: RequestContext, trx: Trx, changes: Change[]): CommandTx {
  return {
    db: trx,
    ctx,
    async audit(input, options = {}) {
      const actorCtx = options.as ?? (ctx.actor ? (ctx as ActorContext) : null);
      if (!actorCtx) throw new Error(`audit ${input.action}: the command's context has no actor`);
      const entry = await appendAudit(trx, auditContext(actorCtx, deps.auditSigner), input, options.now);
      changes.push({ action: input.action, resourceType: input.resourceType, resourceId: input.resourceId, seq: entry.seq });
      return entry;
    },
    event(event, options = {}) {
      return recordEvent(trx, ctx, event, options);
    },
  };
}

/**
 * A publisher that holds changes until `flush()`: for a command run inside a larger
 * transaction (an idempotent create stores its reply in the same one), whose changes
 * may only be told once the outer transaction has committed.
 */
export function deferredChanges(target: ChangePublisher): ChangePublisher & { flush(): void } {
  const held: Change[] = [];
  return {
    publish(changes) {
      held.push(...changes);
    },
    flush() {
      if (held.length) target.publish(held.splice(0));
    },
  };
}

/** The audit context for a change made in `ctx`: private to the command runner (and the lease sweeper's system actor). */
export function auditContext(ctx: ActorContext, signer: AuditSigner): AuditContext {
  return {
    actor: ctx.actor,
    ip: ctx.ip,
    userAgent: ctx.userAgent,
    requestId: ctx.requestId,
    signer,
    ...(ctx.channel ? { channel: ctx.channel } : {}),
  };
}
