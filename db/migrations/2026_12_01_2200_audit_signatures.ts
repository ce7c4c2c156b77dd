import { type Kysely, sql } from "kysely";

// Frozen in time: never import app code here, never edit after it has shipped.

// Signed audit entries. From here on each entry carries an Ed25519 signature of
// (seq, hash), made with a key that is not in the database, in the transaction
// that writes it. The hash does not cover the signature; the signature covers the
// hash, and so every entry before it.
//
// Entries written before this migration have no signature. `audit_seal` records,
// once, the newest of them (`seq`, 0 for an empty log); the first start that holds
// the key signs that entry's hash into `signature` (the seal), which covers every
// older entry the same way. The row may be written once more (null → signature)
// and never again, and never deleted.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table audit_log add column signature text`.execute(db);

  await db.schema
    .createTable("audit_seal")
    .addColumn("id", "integer", (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn("seq", "integer", (c) => c.notNull().check(sql`seq >= 0`))
    .addColumn("signature", "text")
    .addColumn("sealed_at", "text")
    .execute();
  await sql`insert into audit_seal (id, seq) select 1, coalesce(max(seq), 0) from audit_log`.execute(db);

  await sql`create trigger audit_seal_once before update on audit_seal
    when old.signature is not null or new.seq is not old.seq or new.id is not old.id
    begin select raise(abort, 'audit_seal is written once'); end`.execute(db);
  await sql`create trigger audit_seal_no_delete before delete on audit_seal
    begin select raise(abort, 'audit_seal is written once'); end`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger if exists audit_seal_no_delete`.execute(db);
  await sql`drop trigger if exists audit_seal_once`.execute(db);
  await db.schema.dropTable("audit_seal").execute();
  await sql`alter table audit_log drop column signature`.execute(db);
}
