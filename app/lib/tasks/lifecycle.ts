/**
 * The task lifecycle of spec/api.md as a pure decision table: given an action and
 * the task's current status, the status and run state after it, or why not.
 * No I/O, so every action × status pair is tested directly.
 */
export const TASK_STATUSES = ["inbox", "todo", "hold", "ready", "done", "archived"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const TASK_PRIORITIES = ["highest", "high", "medium", "low", "lowest", "none"] as const;
export type TaskPriority = (typeof TASK_PRIORITIES)[number];

export const RUN_STATES = ["queued", "working"] as const;
export type RunState = (typeof RUN_STATES)[number];

export const LIFECYCLE_ACTIONS = ["plan", "start", "complete", "review", "block"] as const;
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
  | { ok: true; status: TaskStatus; runState: RunState | null }
  | { ok: false; allowed: readonly TaskStatus[]; message: string };

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
