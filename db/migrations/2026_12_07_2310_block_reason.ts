import type { Kysely } from "kysely";

// Frozen in time: never import app code here, never edit after it has shipped.

// Why a task is on hold, in a column of its own (set by the block action, cleared when
// the task leaves hold). Before it, the owner's task page merged the reason into the
// task's `result` object as `block_reason`; each task on hold with such a string gets
// it copied here, so its reason still shows. `result` itself is left as it is: it is
// the agent's data, and rewriting it would be a change nobody made.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("tasks").addColumn("block_reason", "text").execute();
  const held = (await db
    .selectFrom("tasks")
    .select(["id", "result"])
    .where("status", "=", "hold")
    .where("result", "is not", null)
    .execute()) as { id: string; result: string }[];
  for (const row of held) {
    let reason: unknown;
    try {
      reason = (JSON.parse(row.result) as { block_reason?: unknown } | null)?.block_reason;
    } catch {
      continue;
    }
    if (typeof reason === "string" && reason.trim() !== "") {
      await db.updateTable("tasks").set({ block_reason: reason.trim() }).where("id", "=", row.id).execute();
    }
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("tasks").dropColumn("block_reason").execute();
}
