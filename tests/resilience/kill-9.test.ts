import fs from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { api, integrityCheck, prepareApi, queryDb, RESILIENCE_ENV, sleep } from "../support/resilience";
import { runCli, startServer, tempDir, type TestServer } from "../support/server";

const ROUNDS = 5;
const CLIENTS = 4;

interface Sent {
  key: string;
  title: string;
  state: "pending" | "acked" | "lost";
  taskKey?: string;
  status?: number;
}

/**
 * One writer: creates tasks back to back, each with its own Idempotency-Key (the
 * title doubles as the key, so the database shows which request made which row),
 * until its connection fails because the server is gone.
 */
async function writer(
  server: TestServer,
  token: string,
  projectKey: string,
  prefix: string,
  sent: Sent[],
  killed: () => boolean,
) {
  for (let n = 0; ; n += 1) {
    const s: Sent = { key: `${prefix}-${n}`, title: `${prefix}-${n}`, state: "pending" };
    sent.push(s);
    try {
      const res = await api(
        server,
        token,
        "POST",
        "/api/tasks",
        { title: s.title, project_key: projectKey },
        { "Idempotency-Key": s.key },
      );
      s.status = res.status;
      if (res.status === 201) {
        s.state = "acked";
        s.taskKey = (res.json as { task: { task_key: string } }).task.task_key;
      } else {
        s.state = "lost";
      }
    } catch {
      s.state = "lost"; // no answer: the server died with this request in flight (or before it was read)
      if (killed()) return;
    }
    if (killed()) return;
  }
}

describe("kill -9 under write load", () => {
  const dir = tempDir("preqstation-kill9-");
  let server: TestServer | undefined;
  afterAll(async () => {
    await server?.stop("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`loses no acknowledged write and duplicates nothing on retry, ${ROUNDS} times over`, async () => {
    server = await startServer({ dir, env: RESILIENCE_ENV });
    const { token, projectKey } = await prepareApi(server);
    const unexpected: { key: string; status: number }[] = [];

    for (let round = 1; round <= ROUNDS; round += 1) {
      const sent: Sent[] = [];
      let killed = false;
      const current = server;
      const writers = Array.from({ length: CLIENTS }, (_, c) =>
        writer(current, token, projectKey, `k9-r${round}-c${c}`, sent, () => killed),
      );
      // Let writes flow, then SIGKILL at a random moment.
      while (sent.filter((s) => s.state === "acked").length < 20) await sleep(5);
      await sleep(Math.floor(Math.random() * 400));
      killed = true;
      current.child.kill("SIGKILL");
      await Promise.all(writers);
      await current.stop(); // resolves once the process is gone
      for (const s of sent) if (s.status !== undefined && s.status !== 201) unexpected.push({ key: s.key, status: s.status });

      server = await startServer({ dir, env: RESILIENCE_ENV });
      const acked = sent.filter((s) => s.state === "acked");
      const lost = sent.filter((s) => s.state !== "acked");
      expect(acked.length).toBeGreaterThanOrEqual(20);

      // Every acknowledged task survived, under the key it was acknowledged with.
      const rows = queryDb<{ task_key: string; title: string }>(
        server.dbPath,
        "select task_key, title from tasks where title like ?",
        `k9-r${round}-%`,
      );
      const byTitle = new Map(rows.map((r) => [r.title, r.task_key]));
      const missing = acked.filter((s) => byTitle.get(s.title) !== s.taskKey).map((s) => s.key);
      expect(missing).toEqual([]);

      // Retrying the unacknowledged requests with the same key creates each at most once;
      // retrying acknowledged ones replays the first answer.
      for (const s of [...lost, ...acked.slice(0, 3)]) {
        const res = await api(
          server,
          token,
          "POST",
          "/api/tasks",
          { title: s.title, project_key: projectKey },
          { "Idempotency-Key": s.key },
        );
        expect(res.status).toBe(201);
        const taskKey = (res.json as { task: { task_key: string } }).task.task_key;
        if (s.state === "acked") {
          expect(res.headers["idempotent-replayed"]).toBe("true");
          expect(taskKey).toBe(s.taskKey);
        }
        // A retry of a request the dead server had committed gets that task back, not a new one.
        const before = byTitle.get(s.title);
        if (before !== undefined) expect(taskKey).toBe(before);
      }
      const duplicates = queryDb<{ title: string; n: number }>(
        server.dbPath,
        "select title, count(*) as n from tasks group by title having count(*) > 1",
      );
      expect(duplicates).toEqual([]);
      const counts = queryDb<{ tasks: number; creates: number }>(
        server.dbPath,
        "select (select count(*) from tasks) as tasks, (select count(*) from audit_log where action = 'task.create') as creates",
      )[0]!;
      expect(counts.creates).toBe(counts.tasks); // each task has exactly its one audit entry
      expect(integrityCheck(server.dbPath)).toBe("ok");
    }

    expect(unexpected).toEqual([]);
    await server.stop();
    expect(integrityCheck(server.dbPath)).toBe("ok");
    const verify = await runCli(["audit", "verify"], { dbPath: server.dbPath });
    expect(verify.stderr).toBe("");
    expect(verify.code).toBe(0);
  });
});
