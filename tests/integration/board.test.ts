/**
 * The owner's task board (contract §7) against the production server, without
 * JavaScript: forms posted as a browser posts them, pages read as HTML.
 */
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getPage, OWNER_EMAIL, postForm, setupOwner } from "../support/http";
import { startServer, type TestServer } from "../support/server";
import { createToken } from "./api-client";

interface AuditRow {
  seq: number;
  actor_type: string;
  actor_label: string;
  action: string;
  resource_id: string;
  changes: string;
  channel: string | null;
}

const TASK = {
  project_key: "WID",
  title: "Add login",
  description: "Make **login** work",
  priority: "high",
  labels: "backend, Bug, backend",
  acceptance_criteria: "signs in\n\nsigns out\n",
  engine: "claude-code",
};

describe("the task board pages", () => {
  let server: TestServer;
  let cookie: string;
  let token: string;
  let db: Database.Database;

  const api = (method: string, path: string, body?: unknown) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  const page = async (path: string) => {
    const res = await getPage(server, path, cookie);
    return { status: res.status, html: await res.text(), res };
  };
  const post = async (path: string, fields: Record<string, string>) => {
    const res = await postForm(server, path, fields, { cookie });
    return { status: res.status, location: res.headers.get("location"), html: await res.text() };
  };
  const audit = (resourceId: string) =>
    db.prepare("select * from audit_log where resource_id = ? order by seq").all(resourceId) as AuditRow[];
  const taskRow = (key: string) =>
    db.prepare("select * from tasks where task_key = ?").get(key) as
      | {
          version: number;
          title: string;
          status: string;
          run_state: string | null;
          result: string | null;
          block_reason: string | null;
        }
      | undefined;
  const newTask = async (fields: Partial<typeof TASK> = {}) => {
    const res = await post("/tasks/new", { ...TASK, ...fields });
    expect(res.status, res.html.slice(0, 500)).toBe(303);
    return res.location!.replace("/tasks/", "");
  };

  beforeAll(async () => {
    server = await startServer({ env: { API_RATE_LIMIT: "100000/1m" } });
    cookie = await setupOwner(server);
    token = await createToken(server, "agent-smith");
    db = new Database(server.dbPath, { readonly: true });
  });
  afterAll(async () => {
    db?.close();
    await server?.stop();
  });

  it("sends an anonymous visitor of every board page to the sign-in page, and back after it", async () => {
    for (const path of [
      "/tasks",
      "/tasks?view=list&status=todo",
      "/tasks/new",
      "/tasks/WID-1",
      "/tasks/events",
      "/projects",
      "/projects/WID",
    ]) {
      const res = await getPage(server, path);
      expect(res.status, path).toBe(302);
      expect(res.headers.get("location"), path).toBe(`/login?redirectTo=${encodeURIComponent(path)}`);
    }
    const posted = await postForm(server, "/tasks/new", TASK);
    expect(posted.status).toBe(302);
    expect(posted.headers.get("location")).toMatch(/^\/login\?redirectTo=/);
  });

  it("lands on /tasks after sign-in without redirectTo, and / sends the owner there", async () => {
    const res = await postForm(server, "/login", { email: OWNER_EMAIL, password: "correct horse battery staple" });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/tasks");
    const root = await getPage(server, "/", cookie);
    expect(root.headers.get("location")).toBe("/tasks");
    const { html } = await page("/tasks");
    expect(html).toMatch(/<nav class="main-nav" aria-label="Main">.*href="\/tasks".*href="\/projects".*href="\/settings"/s);
  });

  it("creates a project by form with the owner as actor, and refuses a duplicate key inline", async () => {
    const res = await post("/projects", {
      intent: "create",
      name: "Widgets",
      project_key: "wid",
      repo_url: "https://github.com/acme/widgets.git",
      description: "",
    });
    expect(res.status).toBe(303);
    expect(res.location).toBe("/projects/WID");
    const [entry] = audit("WID");
    expect(entry).toMatchObject({ action: "project.create", actor_type: "owner", actor_label: OWNER_EMAIL });
    const dup = await post("/projects", { intent: "create", name: "Again", project_key: "WID", repo_url: "", description: "" });
    expect(dup.status).toBe(409);
    expect(dup.html).toContain("Project key WID already exists");
    expect(dup.html).toMatch(/<input[^>]*name="name"[^>]*value="Again"/);
    const bad = await post("/projects", {
      intent: "create",
      name: "",
      project_key: "w",
      repo_url: "not a url at all",
      description: "",
    });
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('id="field-project_key-error"');
    const { html } = await page("/projects");
    expect(html).toContain('href="/projects/WID"');
  });

  it("creates a task by form with the API's rules and the owner as actor, and shows it on the board", async () => {
    const key = await newTask();
    expect(key).toBe("WID-1");
    const task = (await (await api("GET", `/api/tasks/${key}`)).json()).task;
    expect(task).toMatchObject({
      title: "Add login",
      priority: "high",
      labels: ["backend", "Bug"],
      acceptance_criteria: ["signs in", "signs out"],
      engine: "claude-code",
      status: "inbox",
    });
    const [entry] = audit(key);
    expect(entry).toMatchObject({ action: "task.create", actor_type: "owner", actor_label: OWNER_EMAIL, channel: "web" });

    const { html } = await page("/tasks");
    const inbox = /<section[^>]*aria-labelledby="column-inbox".*?<\/section>/s.exec(html)![0];
    expect(inbox).toContain(`href="/tasks/${key}"`);
    expect(inbox).toContain("Add login");
    expect(inbox).toMatch(/class="label label-\w+">backend</);
    expect(inbox).toContain("claude-code");
    for (const status of ["inbox", "todo", "hold", "ready", "done"]) expect(html).toContain(`id="column-${status}"`);
    expect(html).not.toContain('id="column-archived"');
  });

  it("answers bad input with an inline error and the values kept, never a 500", async () => {
    const unknown = await post("/tasks/new", { ...TASK, project_key: "NOPE", title: "Keep me" });
    expect(unknown.status).toBe(404);
    expect(unknown.html).toContain("Project NOPE not found");
    expect(unknown.html).toMatch(/<input[^>]*name="title"[^>]*value="Keep me"/);

    const long = await post("/tasks/new", { ...TASK, title: "x".repeat(181) });
    expect(long.status).toBe(400);
    expect(long.html).toContain('id="field-title-error"');
    expect(long.html).toContain(`value="${"x".repeat(181)}"`);

    const control = await post("/tasks/new", { ...TASK, title: "bell\u0007here", labels: "ok, bad\u202Elabel" });
    expect(control.status).toBe(400);
    expect(control.html).toContain('id="field-title-error"');
    expect(control.html).toContain('id="field-labels-error"');

    const engine = await post("/tasks/new", { ...TASK, engine: "Not An Engine!" });
    expect(engine.status).toBe(400);
    expect(engine.html).toContain('id="field-engine-error"');

    const tooMany = await post("/tasks/new", { ...TASK, labels: Array.from({ length: 21 }, (_, i) => `l${i}`).join(",") });
    expect(tooMany.status).toBe(400);
    expect(tooMany.html).toContain('id="field-labels-error"');

    const status = await post("/tasks/WID-1", { intent: "status", status: "bogus" });
    expect(status.status).toBe(400);
    expect(status.html).toContain("Choose a status from the list.");

    const review = await post("/tasks/WID-1", { intent: "review" });
    expect(review.status).toBe(409);
    expect(review.html).toContain("Cannot review a task in status inbox");

    const noIntent = await post("/tasks/WID-1", { intent: "explode" });
    expect(noIntent.status).toBe(400);

    const filters = await page("/tasks?status=bogus&engine=NOT%20OK&cursor=zzz&view=list");
    expect(filters.status).toBe(200);
    expect(filters.html).toContain("Some filters are not valid");
    const cursor = await page("/tasks?view=list&cursor=bm90LWEtY3Vyc29y");
    expect(cursor.status).toBe(200);
    expect(cursor.html).toContain("cursor");
    expect(taskRow("WID-1")!.version).toBe(1);
  });

  it("edits with the current version, and a stale version changes nothing and says what changed meanwhile", async () => {
    const key = await newTask({ title: "Edit me" });
    const fields = {
      intent: "update",
      title: "Edited by owner",
      description: "new text",
      priority: "low",
      labels: "frontend",
      acceptance_criteria: "one",
      engine: "",
    };
    const ok = await post(`/tasks/${key}`, { ...fields, version: "1" });
    expect(ok.status).toBe(303);
    expect(ok.location).toBe(`/tasks/${key}`);
    expect(taskRow(key)).toMatchObject({ version: 2, title: "Edited by owner" });
    const update = audit(key).at(-1)!;
    expect(update).toMatchObject({ action: "task.update", actor_type: "owner", actor_label: OWNER_EMAIL });
    expect(JSON.parse(update.changes).title).toEqual({ before: "Edit me", after: "Edited by owner" });

    // An agent changes the title meanwhile; the owner's form still says version 2.
    expect((await api("PATCH", `/api/tasks/${key}`, { title: "Agent's title" })).status).toBe(200);
    const stale = await post(`/tasks/${key}`, { ...fields, title: "Owner's late title", version: "2" });
    expect(stale.status).toBe(409);
    expect(taskRow(key)).toMatchObject({ version: 3, title: "Agent's title" });
    expect(stale.html).toContain("This task changed since you opened the form (version 2, now 3). Nothing was saved.");
    expect(stale.html).toContain("Changed meanwhile");
    expect(stale.html).toContain("token “agent-smith”");
    expect(stale.html).toContain("Agent&#x27;s title");
    expect(stale.html).toMatch(/<input[^>]*name="title"[^>]*value="Owner&#x27;s late title"/);
    expect(stale.html).toMatch(/<input type="hidden" name="version" value="3"/);
    expect(audit(key).filter((e) => e.action === "task.update")).toHaveLength(2);

    const missing = await post(`/tasks/${key}`, { ...fields });
    expect(missing.status).toBe(400);
  });

  it("moves a task through its lifecycle with the buttons, the owner as actor", async () => {
    const key = await newTask({ title: "Lifecycle" });
    expect((await post(`/tasks/${key}`, { intent: "status", status: "todo" })).status).toBe(303);
    expect(taskRow(key)!.status).toBe("todo");
    expect(audit(key).at(-1)).toMatchObject({ action: "task.status", actor_type: "owner" });

    // An agent starts it: the page shows the working badge.
    expect((await api("PATCH", `/api/tasks/${key}`, { lifecycle_action: "start" })).status).toBe(200);
    expect((await page(`/tasks/${key}`)).html).toContain('class="badge run-working">working<');
    expect((await page("/tasks")).html).toMatch(new RegExp(`href="/tasks/${key}".*?class="badge run-working">working<`, "s"));

    const blocked = await post(`/tasks/${key}`, { intent: "block", reason: "needs the API first" });
    expect(blocked.status).toBe(303);
    const row = taskRow(key)!;
    expect(row).toMatchObject({ status: "hold", run_state: null });
    // The reason has its own field; the agent's result is not touched.
    expect(row).toMatchObject({ result: null, block_reason: "needs the API first" });
    expect(audit(key).at(-1)).toMatchObject({ action: "task.update", actor_type: "owner" });
    expect(JSON.parse(audit(key).at(-1)!.changes).status).toEqual({ before: "todo", after: "hold" });

    expect((await post(`/tasks/${key}`, { intent: "block", reason: "bad\u0000reason" })).status).toBe(400);

    expect(
      (
        await api("PATCH", `/api/tasks/${key}`, {
          lifecycle_action: "complete",
          result: { summary: "done it", pr_url: "https://github.com/acme/widgets/pull/7", tests: "12 passed" },
        })
      ).status,
    ).toBe(200);
    const ready = await page(`/tasks/${key}`);
    expect(ready.html).toContain('<a href="https://github.com/acme/widgets/pull/7" rel="noopener noreferrer nofollow">');
    expect(ready.html).toContain("12 passed");
    expect(ready.html).toContain("Approve (ready → done)");
    const reviewed = await post(`/tasks/${key}`, { intent: "review" });
    expect(reviewed.status).toBe(303);
    expect(taskRow(key)!.status).toBe("done");
    expect(JSON.parse(audit(key).at(-1)!.changes).status).toEqual({ before: "ready", after: "done" });

    const history = (await page(`/tasks/${key}`)).html;
    expect(history).toContain("token “agent-smith”");
    expect(history).toContain(`${OWNER_EMAIL} (owner)`);
  });

  it("deletes a task after a confirmation step, then the page is a 404", async () => {
    const key = await newTask({ title: "Doomed" });
    const confirm = await page(`/tasks/${key}?confirm=delete`);
    expect(confirm.html).toContain(`Yes, delete ${key}`);
    expect(confirm.html).toMatch(/<input type="hidden" name="intent" value="delete"/);
    const res = await post(`/tasks/${key}`, { intent: "delete" });
    expect(res.status).toBe(303);
    expect(res.location).toBe("/tasks");
    expect(taskRow(key)).toBeUndefined();
    expect(audit(key).at(-1)).toMatchObject({ action: "task.delete", actor_type: "owner", actor_label: OWNER_EMAIL });
    const gone = await page(`/tasks/${key}`);
    expect(gone.status).toBe(404);
    expect(gone.html).toContain("Page not found");
    expect((await post(`/tasks/${key}`, { intent: "status", status: "todo" })).status).toBe(404);
  });

  it("shows a 404 page for a task or project that does not exist", async () => {
    for (const path of ["/tasks/WID-999", "/tasks/not-a-key", "/projects/NOPE", "/projects/x"]) {
      const res = await page(path);
      expect(res.status, path).toBe(404);
      expect(res.html).toContain("Page not found");
    }
  });

  it("renders hostile titles and Markdown inert", async () => {
    const key = await newTask({
      title: `<script>alert("t")</script><img src=x onerror=alert(1)>`,
      description: [
        "<script>alert('d')</script>",
        '<img src="x" onerror="alert(2)">',
        '<div style="background:url(javascript:alert(3))">raw</div>',
        "[js](javascript:alert(4)) [data](data:text/html;base64,PHNjcmlwdD4=) [rel](/logout) [proto](//evil.example/x)",
        "[ok](https://example.com/a?b=c) [mail](mailto:me@example.com) ![pic](https://tracker.example/p.png)",
        '<a href="javascript:alert(5)">html link</a>',
      ].join("\n\n"),
    });
    expect(
      (
        await api("PATCH", `/api/tasks/${key}`, {
          plan_markdown: "1. [x](JaVaScRiPt:alert(6))\n2. <iframe src=https://evil.example></iframe>\n3. `<b>code</b>`",
          result: { summary: "<script>alert(7)</script>", pr_url: "javascript:alert(8)" },
        })
      ).status,
    ).toBe(200);
    const { html } = await page(`/tasks/${key}`);
    const body = html
      .replace(/<script[^>]*nonce="[^"]*"[^>]*>[\s\S]*?<\/script>/g, "")
      .replace(/<script[^>]*type="module"[^>]*>[\s\S]*?<\/script>/g, "");
    // Remix serializes loader data into a nonce'd script; everything else must hold no script, event handler or unsafe URL.
    expect(body).not.toMatch(/<script/i);
    expect(body).not.toMatch(/<img/i);
    expect(body).not.toMatch(/<iframe/i);
    // (The escaped title in <title> and <h1> holds the text "onerror=": only attributes count.)
    const attribute = (name: string) => new RegExp(`<[a-z][a-z0-9]*(?:\\s+[a-z-]+(?:="[^"]*")?)*\\s+${name}=`, "i");
    expect(body).not.toMatch(attribute("onerror"));
    expect(body).not.toMatch(attribute("style"));
    expect(body).not.toMatch(/href="(?!https?:|mailto:|\/)[^"]*"/i);
    expect(body).not.toMatch(/href="[^"]*javascript:/i);
    expect(body).not.toContain('href="/logout"');
    expect(body).not.toContain('href="//evil.example');
    expect(body).toContain('<a href="https://example.com/a?b=c" rel="noopener noreferrer nofollow">ok</a>');
    expect(body).toContain('<a href="mailto:me@example.com" rel="noopener noreferrer nofollow">mail</a>');
    expect(body).toContain("&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;");
    expect(body).toContain("<code>&lt;b&gt;code&lt;/b&gt;</code>");
    expect(body).toContain("<code>javascript:alert(8)</code>");
    const board = (await page("/tasks")).html;
    expect(board).toContain("&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;");
    // Control characters never get in.
    expect((await post("/tasks/new", { ...TASK, description: "esc \u001b[31m red" })).status).toBe(400);
  });

  it("refuses a cross-site form post with a 403 and changes nothing", async () => {
    const before = (db.prepare("select count(*) as n from tasks").get() as { n: number }).n;
    for (const [path, fields] of [
      ["/tasks/new", TASK],
      ["/tasks/WID-1", { intent: "delete" }],
      ["/projects", { intent: "create", name: "Evil", project_key: "EVIL" }],
      ["/projects/WID", { intent: "update", name: "Pwned" }],
    ] as const) {
      const res = await postForm(server, path, fields, { cookie, headers: { Origin: "https://evil.example" } });
      expect(res.status, path).toBe(403);
    }
    expect((db.prepare("select count(*) as n from tasks").get() as { n: number }).n).toBe(before);
    expect(taskRow("WID-1")).toBeDefined();
    expect(db.prepare("select name from projects where project_key = 'WID'").get()).toEqual({ name: "Widgets" });
  });

  it("edits a project and its deploy settings through the API's schema, audited as the owner", async () => {
    const base = {
      intent: "update",
      name: "Widgets 2",
      description: "the widget shop",
      repo_url: "acme/widgets",
      deploy_strategy: "pull_request",
      deploy_default_branch: "trunk",
      deploy_auto_pr: "true",
    };
    const res = await post("/projects/WID", base);
    expect(res.status).toBe(303);
    const settings = (await (await api("GET", "/api/projects/WID/settings")).json()).settings;
    expect(settings).toEqual({
      deploy_strategy: "pull_request",
      deploy_default_branch: "trunk",
      deploy_auto_pr: "true",
      deploy_commit_on_review: "false",
      deploy_squash_merge: "false",
    });
    const entry = audit("WID").at(-1)!;
    expect(entry).toMatchObject({ action: "project.update", actor_type: "owner" });
    expect(JSON.parse(entry.changes)["settings.deploy_strategy"]).toEqual({ before: "direct_commit", after: "pull_request" });
    const bad = await post("/projects/WID", { ...base, deploy_strategy: "Bad Strategy!", deploy_default_branch: "a b" });
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('id="field-deploy_strategy-error"');
    expect(bad.html).toContain('id="field-deploy_default_branch-error"');
    expect(bad.html).toMatch(/<input[^>]*name="deploy_strategy"[^>]*value="Bad Strategy!"/);
    const summary = (await page("/projects")).html;
    expect(summary).toMatch(/href="\/tasks\?project=WID&amp;status=inbox">\d+</);
  });

  it("filters the board with a GET form and pages the list view with the API's keyset cursor", async () => {
    expect((await api("POST", "/api/projects", { name: "Other", project_key: "OTH" })).status).toBe(201);
    for (let i = 0; i < 55; i++) {
      const res = await api("POST", "/api/tasks", {
        project_key: "OTH",
        title: `bulk ${i}`,
        status: "todo",
        labels: i % 2 ? ["odd"] : [],
        engine: i === 0 ? "codex" : undefined,
      });
      expect(res.status).toBe(201);
    }
    const odd = await page("/tasks?project=OTH&label=ODD");
    expect(odd.html.match(/href="\/tasks\/OTH-\d+"/g)).toHaveLength(27);
    expect((await page("/tasks?project=oth&engine=codex")).html.match(/href="\/tasks\/OTH-\d+"/g)).toEqual([
      'href="/tasks/OTH-1"',
    ]);
    expect((await page("/tasks?q=bulk%2054")).html).toContain('href="/tasks/OTH-55"');
    expect((await page("/tasks?project=WID&q=bulk")).html).not.toContain('href="/tasks/OTH-');
    const todo = await page("/tasks?project=OTH&status=todo");
    expect(todo.html).not.toContain('id="column-inbox"');
    expect(todo.html).toContain("All todo tasks");

    const first = await page("/tasks?project=OTH&view=list");
    const keys1 = [...first.html.matchAll(/<th scope="row"><a [^>]*href="\/tasks\/(OTH-\d+)"/g)].map((m) => m[1]);
    expect(keys1).toHaveLength(50);
    const next = /<a rel="next"[^>]*href="([^"]*)"/.exec(first.html)![1]!.replace(/&amp;/g, "&");
    expect(next).toMatch(/cursor=/);
    const second = await page(next);
    const keys2 = [...second.html.matchAll(/<th scope="row"><a [^>]*href="\/tasks\/(OTH-\d+)"/g)].map((m) => m[1]);
    expect(keys2).toHaveLength(5);
    expect(new Set([...keys1, ...keys2]).size).toBe(55);
    expect(second.html).not.toContain('rel="next"');

    expect((await page("/tasks?status=archived")).html).toContain('id="column-archived"');
  });

  it("streams a change to a signed-in live page within 2 seconds of an agent's write", async () => {
    const res = await fetch(`${server.url}/tasks/events`, { headers: { Cookie: cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = decoder.decode((await reader.read()).value);
    expect(text).toContain("retry: 2000");
    const started = Date.now();
    expect((await api("PATCH", "/api/tasks/WID-1", { title: "Changed live" })).status).toBe(200);
    while (!text.includes("event: change")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    expect(text).toContain("event: change");
    expect(Date.now() - started).toBeLessThan(2_000);
    await reader.cancel();
  });
});

describe("the live stream and the server's lifecycle", () => {
  it(
    "outlives the server's request and socket timeouts on heartbeats, and SIGTERM still drains and exits at once",
    { timeout: 120_000 },
    async () => {
      const server = await startServer();
      try {
        const cookie = await setupOwner(server);
        const res = await fetch(`${server.url}/tasks/events`, { headers: { Cookie: cookie } });
        const reader = res.body!.getReader();
        const decoder = new TextDecoder();
        const started = Date.now();
        let text = "";
        // requestTimeout is 30 s and the socket timeout 60 s: the stream must still be open after 62 s.
        // Reads return at each 20 s heartbeat, so the loop ends at the fourth (~80 s): the timeout leaves room for a busy machine.
        while (Date.now() - started < 62_000) {
          const { value, done } = await reader.read();
          expect(done, `stream ended after ${Date.now() - started} ms`).toBe(false);
          text += decoder.decode(value);
        }
        expect(text.match(/: keep-alive/g)!.length).toBeGreaterThanOrEqual(3);
        const stopping = Date.now();
        expect(await server.stop("SIGTERM")).toBe(0);
        // Without closing the streams, shutdown waits for its 8-second force timer.
        expect(Date.now() - stopping).toBeLessThan(3_000);
        expect((await reader.read()).done).toBe(true);
      } finally {
        await server.stop();
      }
    },
  );
});
