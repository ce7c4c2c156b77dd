/**
 * The lease sweeper (contract §11): frees tasks whose lease ran out while nobody
 * looked at them, each with its `task.lease_expired` entry (actor system). One timer,
 * armed for the next lease's expiry (at most `maxDelayMs` ahead, so a lease taken
 * since is never missed by more than that), never a busy loop. Owned by Services,
 * which stops it before closing the database. Claims and `next` also expire what
 * they touch, so the sweeper is never needed for correctness, only for tidiness.
 */
import type { CommandDeps } from "../command/command.server";
import type { Logger } from "../logger.server";
import { sweepExpiredLeases } from "./claims.server";
import { nextLeaseExpiry } from "./lease.server";

export interface LeaseSweeper {
  /** Runs one pass now (tests); resolves with the keys it freed. */
  sweep(): Promise<string[]>;
  /** Stops the timer and waits for a pass under way. */
  stop(): Promise<void>;
}

export const SWEEP_MAX_DELAY_MS = 5_000;
/** Never sooner than this after a pass, whatever the next expiry says. */
export const SWEEP_MIN_DELAY_MS = 50;

export function startLeaseSweeper(options: {
  /** A pass is a command (the system as actor): its changes are published like any other. */
  deps: CommandDeps;
  logger: Logger;
  maxDelayMs?: number;
}): LeaseSweeper {
  const maxDelay = options.maxDelayMs ?? SWEEP_MAX_DELAY_MS;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let running: Promise<string[]> | null = null;

  const pass = (): Promise<string[]> => sweepExpiredLeases(options.deps);

  const arm = (delay: number) => {
    if (stopped) return;
    timer = setTimeout(tick, Math.min(maxDelay, Math.max(SWEEP_MIN_DELAY_MS, delay)));
    timer.unref();
  };

  async function tick() {
    timer = null;
    let delay = maxDelay;
    running = pass();
    try {
      await running;
      const next = await nextLeaseExpiry(options.deps.db);
      if (next !== null) delay = Date.parse(next) - Date.now() + 1;
    } catch (error) {
      if (!stopped) options.logger.warn("lease sweeper: pass failed", { error });
    } finally {
      running = null;
    }
    arm(delay);
  }

  arm(0);
  return {
    async sweep() {
      return pass();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running?.catch(() => undefined);
    },
  };
}
