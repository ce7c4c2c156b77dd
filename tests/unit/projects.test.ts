import { beforeEach, describe, expect, it } from "vitest";
import { DomainError } from "../../app/lib/domain/errors";
import type { AuditContext } from "../../app/lib/audit/log.server";
import type { OpenedDatabase } from "~/lib/db.server";
import {
  createProject,
  deriveProjectKey,
  findProjectsByRepo,
  projectSettings,
  updateProject,
} from "../../app/lib/projects/projects.server";
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

describe("projects", () => {
  it("derives a key from the name's initials or its first letters", () => {
    expect(deriveProjectKey("Preq Station Web")).toBe("PSW");
    expect(deriveProjectKey("widgets")).toBe("WIDG");
    expect(deriveProjectKey("Café Crème")).toBe("CC");
    expect(deriveProjectKey("日本")).toBe("PROJ");
    expect(deriveProjectKey("x")).toBe("PROJ");
    for (const name of ["a b c d e f g h i j k l m", "A", "!!!", "Über"])
      expect(deriveProjectKey(name)).toMatch(/^[A-Z0-9]{2,10}$/);
  });

  it("numbers a derived key that is taken, and refuses an explicit duplicate with 409", async () => {
    expect((await createProject(...cmd(opened.db, audit), { name: "Widgets" })).project_key).toBe("WIDG");
    expect((await createProject(...cmd(opened.db, audit), { name: "Widgets" })).project_key).toBe("WIDG2");
    const error = await createProject(...cmd(opened.db, audit), { name: "Other", project_key: "WIDG" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe("CONFLICT");
  });

  it("stores a GitHub repo_url as owner/repo and finds the project by any form of it", async () => {
    const p = await createProject(...cmd(opened.db, audit), {
      name: "W",
      project_key: "WID",
      repo_url: "git@github.com:Acme/Widgets.git",
    });
    expect(p.repo_url).toBe("Acme/Widgets");
    expect((await findProjectsByRepo(opened.db, "https://github.com/acme/widgets/")).map((x) => x.project_key)).toEqual(["WID"]);
    expect(await findProjectsByRepo(opened.db, "acme/other")).toEqual([]);
  });

  it("fills in the documented settings defaults and stores changes as strings, with one audit entry", async () => {
    const p = await createProject(...cmd(opened.db, audit), { name: "W", project_key: "WID" });
    expect(projectSettings(p)).toEqual({
      deploy_strategy: "direct_commit",
      deploy_default_branch: "main",
      deploy_auto_pr: "false",
      deploy_commit_on_review: "true",
      deploy_squash_merge: "true",
    });
    const before = await opened.db.selectFrom("audit_log").select("seq").execute();
    const updated = await updateProject(...cmd(opened.db, audit), {
      key: "wid",
      patch: { settings: { deploy_auto_pr: "true", deploy_default_branch: "develop" }, name: "Widgets" },
    });
    expect(projectSettings(updated)).toMatchObject({
      deploy_auto_pr: "true",
      deploy_default_branch: "develop",
      deploy_squash_merge: "true",
    });
    expect(updated.name).toBe("Widgets");
    const entries = await opened.db.selectFrom("audit_log").selectAll().where("seq", ">", before.length).execute();
    expect(entries).toHaveLength(1);
    expect(entries[0]!.action).toBe("project.update");
    expect(JSON.parse(entries[0]!.changes)).toEqual({
      name: { before: "W", after: "Widgets" },
      "settings.deploy_default_branch": { before: "main", after: "develop" },
      "settings.deploy_auto_pr": { before: "false", after: "true" },
    });
  });
});
