/**
 * The agent's working note and artifacts on a task (contract §10), a command of its
 * own: one transaction, one audit entry `task.note` (resource the task), the task's
 * version +1 when something changed. It never touches status, run state or claim.
 */
import type { TaskRow } from "../../../db/schema";
import { runCommand, type CommandDeps } from "../command/command.server";
import type { ActorContext } from "../domain/context";
import { nowIso } from "../db.server";
import { noteOf } from "./note";
import type { TaskNoteBody, TaskView } from "./schemas";
import { getTaskView, requireTask, TaskVersionMismatch, type DeferredInput, type ExpectedVersion } from "./tasks.server";

/**
 * Sets a task's note and/or artifacts (`note_markdown` "" or null clears the note;
 * `artifacts` replaces the list). The task is read once, in the transaction: not
 * found, then the input (when deferred), then the expected version.
 */
export async function setTaskNote(
  deps: CommandDeps,
  ctx: ActorContext,
  input: { taskId: string; note: DeferredInput<TaskNoteBody>; expectedVersion?: ExpectedVersion },
  now = Date.now(),
): Promise<TaskView> {
  return runCommand(deps, ctx, async (tx) => {
    const task = await requireTask(tx.db, input.taskId);
    const note = typeof input.note === "function" ? input.note() : input.note;
    if (input.expectedVersion !== undefined) {
      const versions = typeof input.expectedVersion === "number" ? [input.expectedVersion] : input.expectedVersion;
      if (!versions.includes(task.version)) throw new TaskVersionMismatch(task.task_key, task.version);
    }
    const before = noteOf(task);
    const set: Partial<TaskRow> = {};
    const changes: Record<string, { before: unknown; after: unknown }> = {};
    if (note.note_markdown !== undefined) {
      const text = note.note_markdown ?? "";
      if (text !== task.note_markdown) {
        set.note_markdown = text;
        changes.note_markdown = { before: before.note_markdown, after: text === "" ? null : text };
      }
    }
    if (note.artifacts !== undefined) {
      const text = JSON.stringify(note.artifacts);
      if (text !== JSON.stringify(before.artifacts)) {
        set.artifacts = text;
        changes.artifacts = { before: before.artifacts, after: note.artifacts };
      }
    }
    if (Object.keys(set).length > 0) {
      set.version = task.version + 1;
      set.updated_at = nowIso(now);
      await tx.db.updateTable("tasks").set(set).where("id", "=", task.id).execute();
    }
    await tx.audit({ action: "task.note", resourceType: "task", resourceId: task.task_key, changes }, { now });
    return getTaskView(tx.db, task.id);
  });
}
