/**
 * `cmd(db, audit)` for the auth commands' tests: the same deps and context, plus the
 * data key the two-factor commands need, and the request a security event names (the
 * client's IP, user agent and path) when the test gives one.
 */
import type { AuditContext } from "../../app/lib/audit/log.server";
import type { DataKey } from "../../app/lib/auth/two-factor/data-key.server";
import type { CommandDeps } from "../../app/lib/command/command.server";
import type { Db } from "../../app/lib/db.server";
import type { ActorContext } from "../../app/lib/domain/context";
import { cmd, testAudit } from "./kit";

/** Where a request came from, as its security events record it. */
export interface EventSource {
  ip: string;
  userAgent: string;
  path: string;
}

interface AuthCmdOptions {
  audit?: AuditContext;
  source?: EventSource;
  dataKey?: DataKey;
}

export function authCmd(
  db: Db,
  options: AuthCmdOptions & { dataKey: DataKey },
): [CommandDeps & { dataKey: DataKey }, ActorContext];
export function authCmd(db: Db, options?: AuthCmdOptions): [CommandDeps, ActorContext];
export function authCmd(db: Db, options: AuthCmdOptions = {}): [CommandDeps & { dataKey?: DataKey }, ActorContext] {
  const [deps, ctx] = cmd(db, options.audit ?? testAudit);
  const source = options.source ? { ip: options.source.ip, userAgent: options.source.userAgent, path: options.source.path } : {};
  return [options.dataKey ? { ...deps, dataKey: options.dataKey } : deps, { ...ctx, ...source }];
}
