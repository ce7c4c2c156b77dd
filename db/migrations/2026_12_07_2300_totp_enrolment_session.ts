import type { Kysely } from "kysely";

// Frozen in time: never import app code here, never edit after it has shipped.

// A pending TOTP enrolment belongs to the browser session that started it (in sudo
// mode): only that session is shown its secret again and may confirm it (issue 22,
// item 2). The column holds that session's id hash. Enrolments started before this
// column existed keep NULL and belong to no session: they can only be started again
// (they expire within 15 minutes anyway).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("totp_enrolments").addColumn("session_id_hash", "text").execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("totp_enrolments").dropColumn("session_id_hash").execute();
}
