import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, prepareApi, queryDb, RESILIENCE_ENV } from "../support/resilience";
import { runCli, startServer, type TestServer } from "../support/server";

describe("write contention", () => {
  let server: TestServer;
  let token: string;
  let projectKey: string;
  beforeAll(async () => {
    server = await startServer({ env: RESILIENCE_ENV });
    ({ token, projectKey } = await prepareApi(server, "HOT"));
  });
  afterAll(async () => {
    await server?.stop("SIGKILL");
    if (server?.dir) fs.rmSync(server.dir, { recursive: true, force: true });
  });

  it("gives 50 parallel creates in one project 50 distinct sequential keys, with no 5xx and no SQLITE_BUSY", async () => {
    // While the 50 requests race, a second process (the CLI) writes to the same database too.
    const [responses, cli] = await Promise.all([
      Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          api(server, token, "POST", "/api/tasks", {
            title: `Parallel ${i}`,
            project_key: projectKey,
            labels: ["hot", `l${i % 5}`],
          }),
        ),
      ),
      runCli(["token", "create", "--name", "concurrent writer"], { dbPath: server.dbPath }),
    ]);
    expect(cli.code).toBe(0);

    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s !== 201)).toEqual([]);
    const keys = responses.map((r) => (r.json as { task: { task_key: string } }).task.task_key);
    expect(new Set(keys).size).toBe(50);
    expect([...keys].sort((a, b) => Number(a.split("-")[1]) - Number(b.split("-")[1]))).toEqual(
      Array.from({ length: 50 }, (_, i) => `${projectKey}-${i + 1}`),
    );
    expect(server.output()).not.toMatch(/SQLITE_BUSY|database is locked/);

    const rows = queryDb<{ n: number; labels: number; audits: number }>(
      server.dbPath,
      `select (select count(*) from tasks) as n,
              (select count(*) from labels where name_key = 'hot') as labels,
              (select count(*) from audit_log where action = 'task.create') as audits`,
    )[0]!;
    // One row per task, the new label created once (not once per racing request), one audit entry each.
    expect(rows).toEqual({ n: 50, labels: 1, audits: 50 });
  });
});
