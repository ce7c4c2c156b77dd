import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, integrityCheck, prepareApi, request, RESILIENCE_ENV, tryMountTmpfs, type SmallDisk } from "../support/resilience";
import { runCli, startServer, type TestServer } from "../support/server";

// The fault: the database lives on a 32 MiB tmpfs mounted for this test, which the test
// fills to the last byte while the server runs. SQLite then fails every write that needs
// a new page in the WAL with SQLITE_FULL, exactly as on a full disk; reads are unaffected.
// (Remounting read-only is refused while SQLite holds the file open for writing, and
// chmod does not affect an open descriptor, so a full disk is the realistic fault here.)
// Mounting needs root (CAP_SYS_ADMIN), as in CI; elsewhere this file is skipped, saying so.
const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)("a full disk under a running server", () => {
  let disk: SmallDisk;
  let server: TestServer;
  let token: string;
  let projectKey: string;
  let taskKey: string;

  beforeAll(async () => {
    const mounted = tryMountTmpfs(32);
    if (!mounted) throw new Error("could not mount a tmpfs although running as root");
    disk = mounted;
    server = await startServer({ dir: disk.dir, env: RESILIENCE_ENV });
    ({ token, projectKey } = await prepareApi(server));
    const first = await api(server, token, "POST", "/api/tasks", {
      title: "Written before the disk filled up",
      project_key: projectKey,
    });
    expect(first.status).toBe(201);
    taskKey = (first.json as { task: { task_key: string } }).task.task_key;
  });

  afterAll(async () => {
    await server?.stop("SIGKILL");
    disk?.free();
    disk?.unmount();
  });

  it("answers writes with 503 SERVICE_UNAVAILABLE, keeps reads working, and writes again once space is back", async () => {
    disk.fill();

    for (let i = 0; i < 5; i += 1) {
      const res = await api(server, token, "POST", "/api/tasks", {
        title: `Refused ${i}`,
        description: "x".repeat(20_000),
        project_key: projectKey,
      });
      expect(res.status).toBe(503);
      expect(res.json).toEqual({ error: { code: "SERVICE_UNAVAILABLE", message: expect.any(String) } });
      expect(JSON.stringify(res.json)).not.toMatch(/SQLITE|stack|at .*\.js/);
    }
    const patch = await api(server, token, "PATCH", `/api/tasks/${taskKey}`, { description: "y".repeat(20_000) });
    expect(patch.status).toBe(503);
    expect((patch.json as { error: { code: string } }).error.code).toBe("SERVICE_UNAVAILABLE");

    // Reads keep working: the list, the task, health.
    const list = await api(server, token, "GET", "/api/tasks?limit=10");
    expect(list.status).toBe(200);
    expect((list.json as { tasks: { task_key: string }[] }).tasks.map((t) => t.task_key)).toEqual([taskKey]);
    const one = await api(server, token, "GET", `/api/tasks/${taskKey}`);
    expect(one.status).toBe(200);
    expect((one.json as { task: { version: number } }).task.version).toBe(1); // the refused PATCH changed nothing
    expect((await request(server, { path: "/api/health" })).status).toBe(200);
    expect(server.child.exitCode).toBeNull();

    disk.free();

    const again = await api(server, token, "POST", "/api/tasks", {
      title: "Written after space came back",
      project_key: projectKey,
    });
    expect(again.status).toBe(201);
    const patched = await api(server, token, "PATCH", `/api/tasks/${taskKey}`, { title: "Changed after space came back" });
    expect(patched.status).toBe(200);
    expect((patched.json as { task: { version: number } }).task.version).toBe(2);

    await server.stop();
    expect(server.child.exitCode).toBe(0);
    expect(integrityCheck(server.dbPath)).toBe("ok");
    const verify = await runCli(["audit", "verify"], { dbPath: server.dbPath });
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/OK/);
  });

  it("keeps reads working on a full disk even when the token's last-used time is due for a refresh", async () => {
    server = await startServer({ dir: disk.dir, env: RESILIENCE_ENV });
    // Make the token's last use look old, so the next request wants to write it.
    const { default: SQLite } = await import("better-sqlite3");
    const db = new SQLite(server.dbPath);
    db.prepare("update api_tokens set last_used_at = '2000-01-01T00:00:00.000Z'").run();
    db.close();
    disk.fill();
    try {
      const list = await api(server, token, "GET", "/api/tasks?limit=10");
      expect(list.status).toBe(200);
      const write = await api(server, token, "POST", "/api/tasks", { title: "Refused", project_key: projectKey });
      expect(write.status).toBe(503);
    } finally {
      disk.free();
    }
    const later = await api(server, token, "POST", "/api/tasks", { title: "Accepted", project_key: projectKey });
    expect(later.status).toBe(201);
  });
});
