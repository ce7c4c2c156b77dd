/**
 * The task lifecycle of spec/api.md as a pure decision table: given an action and
 * the task's current status, the status and run state after it, or why not.
 * No I/O, so every action × status pair is tested directly.
 */
import type { RunState, TaskStatus } from "../../../db/schema";

// The column values are defined once, with the table (db/schema.ts); re-exported for the domain's callers.
export {
  RUN_STATES,
  TASK_PRIORITIES,
  TASK_STATUSES,
  type RunState,
  type TaskPriority,
  type TaskStatus,
} from "../../../db/schema";

export const LIFECYCLE_ACTIONS = ["plan", "start", "complete", "review", "block"] as const;

/** The longest reason a block may give (its `block_reason`); here, with no zod, so the task page's script can use it. */
export const BLOCK_REASON_MAX = 2_000;
export type LifecycleAction = (typeof LIFECYCLE_ACTIONS)[number];

interface Rule {
  /** Statuses the action may start from, in the table's order. */
  from: readonly TaskStatus[];
  /** The status after the action, from the status before it. */
  to: (current: TaskStatus) => TaskStatus;
  runState: RunState | null;
}

export const LIFECYCLE_RULES: Readonly<Record<LifecycleAction, Rule>> = {
  plan: { from: ["inbox", "todo", "hold", "ready"], to: (s) => (s === "inbox" ? "todo" : s), runState: null },
  start: { from: ["inbox", "todo", "hold", "ready"], to: (s) => s, runState: "working" },
  complete: { from: ["todo", "hold"], to: () => "ready", runState: null },
  review: { from: ["ready"], to: () => "done", runState: null },
  block: { from: ["inbox", "todo", "hold", "ready"], to: () => "hold", runState: null },
};

export type LifecycleDecision =
  { ok: true; status: TaskStatus; runState: RunState | null } | { ok: false; allowed: readonly TaskStatus[]; message: string };

/**
 * Decides `action` on a task in `current` status. A refusal's message names the
 * allowed statuses and the current one (the API's 409 CONFLICT message).
 * The `plan` action's need for a non-empty plan is request validation (a 400), checked before this.
 */
export function decideLifecycle(action: LifecycleAction, current: TaskStatus): LifecycleDecision {
  const rule = LIFECYCLE_RULES[action];
  if (!rule.from.includes(current)) {
    return {
      ok: false,
      allowed: rule.from,
      message: `Cannot ${action} a task in status ${current}; ${action} is allowed from ${rule.from.join(", ")} (current status: ${current})`,
    };
  }
  return { ok: true, status: rule.to(current), runState: rule.runState };
}
