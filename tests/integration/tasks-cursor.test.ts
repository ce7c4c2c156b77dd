/**
 * Keyset pagination on the production server: following next_cursor visits
 * every task exactly once, in order, while other agents keep creating tasks.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApiServer, type ApiServer } from "./api-client";

let api: ApiServer;
const initial = new Set<string>();
beforeAll(async () => {
  api = await startApiServer();
  await api.call("POST", "/api/projects", { body: { name: "Paging", project_key: "PG" } });
  for (let batch = 0; batch < 30; batch++) {
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        api.call("POST", "/api/tasks", {
          body: { title: `task ${batch * 10 + i}`, status: i % 3 === 0 ? "todo" : "inbox", labels: i % 2 ? ["odd"] : [] },
        }),
      ),
    );
    for (const r of results) {
      expect(r.status).toBe(201);
      initial.add(r.json.task.task_key);
    }
  }
});
afterAll(async () => {
  await api?.stop();
});

interface Listed {
  task_key: string;
  updated_at: string;
  uuid: string;
  status: string;
  labels: string[];
}

async function walk(query: string, between?: () => Promise<void>) {
  const seen: Listed[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res = await api.call("GET", `/api/tasks?${query}${cursor ? `&cursor=${cursor}` : ""}`);
    expect(res.status).toBe(200);
    seen.push(...res.json.tasks);
    cursor = res.json.next_cursor;
    pages += 1;
    if (between) await between();
  } while (cursor);
  return { seen, pages };
}

describe("walking next_cursor", () => {
  it("visits each of 300 tasks exactly once, newest first, while 5 new tasks arrive per page", async () => {
    let extra = 0;
    const { seen, pages } = await walk("limit=37", async () => {
      await Promise.all(Array.from({ length: 5 }, () => api.call("POST", "/api/tasks", { body: { title: `late ${extra++}` } })));
    });
    const keys = seen.map((t) => t.task_key);
    expect(new Set(keys).size).toBe(keys.length);
    for (const key of initial) expect(keys, key).toContain(key);
    expect(pages).toBeGreaterThanOrEqual(Math.ceil(300 / 37));
    for (let i = 1; i < seen.length; i++) {
      const [a, b] = [seen[i - 1]!, seen[i]!];
      expect(
        a.updated_at > b.updated_at || (a.updated_at === b.updated_at && a.uuid > b.uuid),
        `${a.task_key} before ${b.task_key}`,
      ).toBe(true);
    }
    expect(extra).toBe(pages * 5);
  });

  it("keeps the filters on every page", async () => {
    const { seen } = await walk("status=todo&label=ODD&limit=7");
    const all = (await walk("limit=200")).seen;
    const expected = all.filter((t) => t.status === "todo" && t.labels.includes("odd"));
    expect(seen.map((t) => t.task_key).sort()).toEqual(expected.map((t) => t.task_key).sort());
    expect(seen.length).toBeGreaterThan(10);
  });

  it("uses the default page size of 50 and the maximum of 200", async () => {
    const first = await api.call("GET", "/api/tasks");
    expect(first.json.tasks).toHaveLength(50);
    expect(first.json.next_cursor).toEqual(expect.any(String));
    expect((await api.call("GET", "/api/tasks?limit=200")).json.tasks).toHaveLength(200);
  });
});
