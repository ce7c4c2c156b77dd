import { describe, expect, it } from "vitest";
import {
  decideLifecycle,
  LIFECYCLE_ACTIONS,
  TASK_STATUSES,
  type LifecycleAction,
  type TaskStatus,
} from "../../app/lib/tasks/lifecycle";

// spec/api.md's table, written out cell by cell: [status after, run_state after] or "409".
// Its type makes the compiler check that every action and every status has a cell.
const TABLE: Record<LifecycleAction, Record<TaskStatus, [TaskStatus, "working" | null] | "409">> = {
  plan: {
    inbox: ["todo", null],
    todo: ["todo", null],
    hold: ["hold", null],
    ready: ["ready", null],
    done: "409",
    archived: "409",
  },
  start: {
    inbox: ["inbox", "working"],
    todo: ["todo", "working"],
    hold: ["hold", "working"],
    ready: ["ready", "working"],
    done: "409",
    archived: "409",
  },
  complete: { inbox: "409", todo: ["ready", null], hold: ["ready", null], ready: "409", done: "409", archived: "409" },
  review: { inbox: "409", todo: "409", hold: "409", ready: ["done", null], done: "409", archived: "409" },
  block: {
    inbox: ["hold", null],
    todo: ["hold", null],
    hold: ["hold", null],
    ready: ["hold", null],
    done: "409",
    archived: "409",
  },
};

describe("the lifecycle decision table", () => {
  for (const action of LIFECYCLE_ACTIONS) {
    for (const status of TASK_STATUSES) {
      const expected = TABLE[action][status];
      if (expected === "409") {
        it(`refuses ${action} from ${status}, naming the allowed statuses and the current one`, () => {
          const decision = decideLifecycle(action, status);
          expect(decision.ok).toBe(false);
          if (decision.ok) return;
          const allowed = TASK_STATUSES.filter((s) => TABLE[action][s] !== "409");
          expect([...decision.allowed].sort()).toEqual([...allowed].sort());
          expect(decision.message).toContain(`current status: ${status}`);
          for (const s of allowed) expect(decision.message).toContain(s);
        });
      } else {
        it(`${action} from ${status} leads to ${expected[0]} with run_state ${expected[1]}`, () => {
          expect(decideLifecycle(action, status)).toEqual({ ok: true, status: expected[0], runState: expected[1] });
        });
      }
    }
  }
});
