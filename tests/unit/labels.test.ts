import { beforeEach, describe, expect, it } from "vitest";
import { transaction, type OpenedDatabase } from "~/lib/db.server";
import { availableLabels, dedupeLabelNames, LABEL_COLORS, labelColor, resolveLabels } from "../../app/lib/tasks/labels.server";
import { createProject } from "../../app/lib/projects/projects.server";
import type { AuditContext } from "../../app/lib/audit/log.server";
import { testAuditSigner } from "../support/audit-key";
import { cmd, testDatabase } from "../support/kit";

const audit: AuditContext = {
  actor: { type: "token", id: "1", label: "t" },
  ip: "127.0.0.1",
  userAgent: "test",
  requestId: "r",
  signer: testAuditSigner,
};
let opened: OpenedDatabase;
beforeEach(async () => {
  opened = await testDatabase();
});

describe("label resolution", () => {
  it("gives a name the same palette color whatever its case", () => {
    expect(LABEL_COLORS).toContain(labelColor("backend"));
    expect(labelColor("Backend")).toBe(labelColor("backend"));
    expect(labelColor(" BACKEND ")).toBe(labelColor("backend"));
    const colors = new Set(["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n"].map(labelColor));
    expect(colors.size).toBeGreaterThan(3);
  });

  it("drops case-insensitive duplicates and keeps the first spelling and the order", () => {
    expect(dedupeLabelNames(["Backend", "api", " backend", "API", "ui"])).toEqual(["Backend", "api", "ui"]);
  });

  it("creates unknown labels once per project and reuses existing ones case-insensitively", async () => {
    const p = await createProject(...cmd(opened.db, audit), { name: "One", project_key: "ONE" });
    const q = await createProject(...cmd(opened.db, audit), { name: "Two", project_key: "TWO" });
    const first = await transaction(opened.db, (trx) => resolveLabels(trx, p.id, ["Backend", "api"]));
    const again = await transaction(opened.db, (trx) => resolveLabels(trx, p.id, ["BACKEND", "ui", "Api"]));
    expect(first.map((l) => l.name)).toEqual(["Backend", "api"]);
    expect(again.map((l) => l.name)).toEqual(["Backend", "ui", "api"]);
    expect(again[0]!.id).toBe(first[0]!.id);
    expect(again[2]!.id).toBe(first[1]!.id);
    const other = await transaction(opened.db, (trx) => resolveLabels(trx, q.id, ["backend"]));
    expect(other[0]!.id).not.toBe(first[0]!.id);
    expect(other[0]!.color).toBe(first[0]!.color);
    const rows = await opened.db.selectFrom("labels").select(["project_id", "name"]).execute();
    expect(rows).toHaveLength(4);
  });

  it("lists the labels of the chosen projects, each name once", async () => {
    const p = await createProject(...cmd(opened.db, audit), { name: "One", project_key: "ONE" });
    const q = await createProject(...cmd(opened.db, audit), { name: "Two", project_key: "TWO" });
    await resolveLabels(opened.db, p.id, ["backend", "zeta"]);
    await resolveLabels(opened.db, q.id, ["Backend", "alpha"]);
    expect((await availableLabels(opened.db, [p.id])).map((l) => l.name)).toEqual(["backend", "zeta"]);
    expect((await availableLabels(opened.db, null)).map((l) => l.name)).toEqual(["alpha", "backend", "zeta"]);
    expect(await availableLabels(opened.db, [])).toEqual([]);
  });

  it("refuses a second label differing only in case at the database level", async () => {
    const p = await createProject(...cmd(opened.db, audit), { name: "One", project_key: "ONE" });
    await resolveLabels(opened.db, p.id, ["backend"]);
    await expect(
      opened.db
        .insertInto("labels")
        .values({ project_id: p.id, name: "BACKEND", name_key: "backend", color: "red", created_at: "x" })
        .execute(),
    ).rejects.toThrow(/UNIQUE/);
  });
});
