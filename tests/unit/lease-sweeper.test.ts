/**
 * The lease sweeper and lazy expiry (contract §11) on a real SQLite file: a lease
 * that ran out is freed with one `task.lease_expired` entry by the system actor, the
 * audit chain still verifies, the timer does it unasked and stops with Services.
 */
import { describe, expect, it } from "vitest";
import { verifyAuditChain, type AuditContext } from "../../app/lib/audit/log.server";
import { createProject } from "../../app/lib/projects/projects.server";
import { claimNextTask, releaseTask } from "../../app/lib/tasks/claims.server";
import { startLeaseSweeper } from "../../app/lib/tasks/lease-sweeper.server";
import { createTask, getTaskView, updateTask } from "../../app/lib/tasks/tasks.server";
import { quietLogger, testAudit, testAuditSigner, testDatabase, testServices, cmd } from "../support/kit";

const agent = (id: string): AuditContext => ({ ...testAudit, actor: { type: "token", id, label: `agent-${id}` } });

async function setup() {
  const { db } = await testDatabase({ file: true });
  await createProject(...cmd(db, testAudit), { name: "Sweep", project_key: "SW" });
  const task = await createTask(...cmd(db, testAudit), { title: "t", project_key: "SW", status: "todo" });
  return { db, key: task.task_key };
}

const actions = async (db: Awaited<ReturnType<typeof setup>>["db"], key: string) =>
  (
    await db
      .selectFrom("audit_log")
      .select(["action", "actor_type", "channel"])
      .where("resource_id", "=", key)
      .orderBy("seq")
      .execute()
  ).map((r) => `${r.action}/${r.actor_type}/${r.channel ?? "-"}`);

describe("lease expiry", () => {
  it("a pass frees a run-out lease once (system actor, no channel), leaves live ones, and the chain verifies", async () => {
    const { db, key } = await setup();
    const live = await createTask(...cmd(db, testAudit), { title: "live", project_key: "SW", status: "todo" });
    await updateTask(
      ...cmd(db, agent("1")),
      {
        task: key,
        patch: { lifecycle_action: "start", lease_seconds: 10, plan_markdown: undefined },
      },
      Date.now() - 20_000,
    );
    await updateTask(...cmd(db, agent("2")), {
      task: live.task_key,
      patch: { lifecycle_action: "start", lease_seconds: 600, plan_markdown: undefined },
    });
    const sweeper = startLeaseSweeper({ deps: cmd(db)[0], logger: quietLogger, maxDelayMs: 60_000 });
    try {
      // Armed at once (the first pass runs 50 ms after start).
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await sweeper.sweep()).toEqual([]);
    } finally {
      await sweeper.stop();
    }
    expect(await getTaskView(db, key)).toMatchObject({ claimed_by: null, run_state: null, lease_expires_at: null });
    expect((await getTaskView(db, live.task_key)).claimed_by).toEqual({ type: "token", name: "agent-2" });
    expect(await actions(db, key)).toEqual(["task.create/cli/cli", "task.claim/token/api", "task.lease_expired/system/-"]);
    expect((await verifyAuditChain(db, testAuditSigner)).ok).toBe(true);
  });

  it("is found lazily by next and by release's holder check, before any sweep", async () => {
    const { db, key } = await setup();
    await updateTask(
      ...cmd(db, agent("1")),
      {
        task: key,
        patch: { lifecycle_action: "start", lease_seconds: 10, plan_markdown: undefined },
      },
      Date.now() - 20_000,
    );
    // The view already shows it free; the old holder can no longer release it.
    expect((await getTaskView(db, key)).claimed_by).toBeNull();
    await expect(releaseTask(...cmd(db, agent("1")), { task: key })).rejects.toMatchObject({
      code: "CONFLICT",
      message: expect.stringContaining("your lease expired"),
    });
    const next = await claimNextTask(...cmd(db, agent("2")), { lease_seconds: 60 });
    expect(next).toMatchObject({ task_key: key, claimed_by: { name: "agent-2" }, run_state: "working" });
    expect(await actions(db, key)).toEqual([
      "task.create/cli/cli",
      "task.claim/token/api",
      "task.lease_expired/system/-",
      "task.claim/token/api",
    ]);
  });

  it("Services own the sweeper and stop it before the database closes", async () => {
    const services = await testServices();
    await services.close();
    // A second stop (and close) is harmless; no pass runs on the closed database.
    await services.leaseSweeper.stop();
    await services.close();
  });
});
