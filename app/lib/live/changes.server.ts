import type { Change, ChangePublisher } from "../audit/actions";

/**
 * The in-process change notifier behind the owner's live pages. Whoever completes a
 * change of tasks or projects (an API or MCP write, an owner's form) calls `publish`;
 * every open live stream (`/tasks/events`) is told "something changed" and the page
 * reloads its data. It carries no data and touches no database: an idle stream
 * costs a timer, nothing else. One instance per Services (no module state).
 */
export type ChangeListener = () => void;

export interface ChangeHub extends ChangePublisher {
  /**
   * Announce committed changes (the command runner calls it after each commit).
   * Bursts are coalesced: listeners hear at most one call per `coalesceMs`.
   */
  publish(changes?: readonly Change[]): void;
  /** Listen for changes; returns the function that stops listening. */
  subscribe(listener: ChangeListener): () => void;
  /** Listen for the hub's closing (server shutdown); returns the function that stops listening. */
  onClose(listener: () => void): () => void;
  /** Ends every subscription (server shutdown): close listeners run once, later publishes do nothing. */
  close(): void;
  /** How many listeners there are now (for tests and the log). */
  readonly size: number;
  /** How many listeners it takes at most; `subscribe` throws beyond that. */
  readonly capacity: number;
}

export function createChangeHub(options: { coalesceMs?: number; maxListeners?: number } = {}): ChangeHub {
  const coalesceMs = options.coalesceMs ?? 100;
  const maxListeners = options.maxListeners ?? 1_000;
  const listeners = new Set<ChangeListener>();
  const closers = new Set<() => void>();
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  const flush = () => {
    timer = null;
    for (const listener of [...listeners]) {
      try {
        listener();
      } catch {
        // a listener's failure (a stream already gone) must not stop the others
      }
    }
  };

  return {
    publish() {
      if (closed || timer || listeners.size === 0) return;
      timer = setTimeout(flush, coalesceMs);
      timer.unref();
    },
    subscribe(listener) {
      if (closed) return () => undefined;
      if (listeners.size >= maxListeners) throw new Error("too many live listeners");
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    onClose(listener) {
      if (closed) {
        listener();
        return () => undefined;
      }
      closers.add(listener);
      return () => void closers.delete(listener);
    },
    close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      listeners.clear();
      for (const closer of [...closers]) {
        try {
          closer();
        } catch {
          // ignore: closing is best effort
        }
      }
      closers.clear();
    },
    get size() {
      return listeners.size;
    },
    capacity: maxListeners,
  };
}
