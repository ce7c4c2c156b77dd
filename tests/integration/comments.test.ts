/**
 * Comments, notes and activity (issue 27, contract §10) against the production server:
 * the owner asks on the task page, an agent answers over the API; bad input is a
 * documented 4xx that writes nothing; every write leaves one audit entry.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getPage, postForm, signIn } from "../support/http";
import { startApiServer, type ApiServer } from "./api-client";

let api: ApiServer;
let cookie: string;

beforeAll(async () => {
  api = await startApiServer();
  expect((await api.call("POST", "/api/projects", { body: { name: "Talk", project_key: "TK" } })).status).toBe(201);
  expect((await api.call("POST", "/api/projects", { body: { name: "Quiet", project_key: "QT" } })).status).toBe(201);
  cookie = await signIn(api.server);
});
afterAll(async () => {
  await api?.stop();
});

async function newTask(title: string, project = "TK"): Promise<string> {
  const created = await api.call("POST", "/api/tasks", { body: { title, project_key: project, status: "todo" } });
  expect(created.status).toBe(201);
  return created.json.task.task_key as string;
}

/** What the database holds: comments and audit entries (nothing half-written is visible here). */
const counts = () => ({
  comments: api.rows<{ n: number }>("select count(*) as n from task_comments")[0]!.n,
  audit: api.rows<{ n: number }>("select count(*) as n from audit_log")[0]!.n,
});

describe("the conversation on a task", () => {
  it("the owner asks on the page; the agent lists, marks working, replies, marks done; the page shows it all", async () => {
    const key = await newTask("Pick an approach");
    const posted = await postForm(api.server, `/tasks/${key}`, { intent: "comment", body: "Which **approach**?" }, { cookie });
    expect(posted.status).toBe(303);
    expect(posted.headers.get("location")).toMatch(new RegExp(`^/tasks/${key}#comment-[0-9a-f-]{36}$`));

    const listed = await api.call("GET", `/api/tasks/${key.toLowerCase()}/comments`);
    expect(listed.status).toBe(200);
    expect(listed.json.comments).toHaveLength(1);
    const asked = listed.json.comments[0];
    expect(asked).toMatchObject({
      task_key: key,
      body: "Which **approach**?",
      author: "owner",
      parent_id: null,
      run_state: "queued",
    });
    expect(Object.keys(asked)).toEqual([
      "id",
      "task_key",
      "body",
      "author",
      "parent_id",
      "run_state",
      "error_message",
      "created_at",
      "updated_at",
    ]);

    const working = await api.call("PATCH", `/api/task-comments/${asked.id}`, { body: { run_state: "working" } });
    expect(working.status).toBe(200);
    expect(working.json.comment.run_state).toBe("working");
    // The read token may read it.
    const read = await api.call("GET", `/api/task-comments/${asked.id}`, { token: api.readToken });
    expect(read.status).toBe(200);
    expect(read.json.comment.run_state).toBe("working");

    const reply = await api.call("POST", `/api/task-comments/${asked.id}/reply`, { body: { body: "Option *B*: smaller diff." } });
    expect(reply.status).toBe(201);
    expect(reply.headers.get("location")).toBe(`/api/task-comments/${reply.json.comment.id}`);
    expect(reply.json.comment).toMatchObject({
      parent_id: asked.id,
      task_key: key,
      author: { type: "token", name: "agent-full" },
      run_state: null,
    });
    const done = await api.call("PATCH", `/api/task-comments/${asked.id}`, { body: { run_state: "done" } });
    expect(done.status).toBe(200);
    expect(done.json.comment).toMatchObject({ run_state: "done", error_message: null });

    const thread = (await api.call("GET", `/api/tasks/${key}/comments`)).json.comments;
    expect(thread.map((c: { id: string; parent_id: string | null }) => [c.id, c.parent_id])).toEqual([
      [asked.id, null],
      [reply.json.comment.id, asked.id],
    ]);

    const page = await (await getPage(api.server, `/tasks/${key}`, cookie)).text();
    expect(page).toContain("Which <strong>approach</strong>?");
    expect(page).toContain("Option <em>B</em>: smaller diff.");
    expect(page).toContain("agent-full (token)");
    expect(page).toMatch(/class="badge success">done</);
    // The reply sits under its comment.
    expect(page).toMatch(
      new RegExp(`id="comment-${asked.id}"[\\s\\S]*class="comment-replies"[\\s\\S]*id="comment-${reply.json.comment.id}"`),
    );

    // One audit entry per write, with the right actor, in the task's history and the audit console.
    const entries = api.rows<{ action: string; actor_type: string; actor_label: string; resource_type: string; channel: string }>(
      "select action, actor_type, actor_label, resource_type, channel from audit_log where resource_type = 'comment' order by seq",
    );
    expect(entries.map((e) => [e.action, e.actor_type, e.actor_label])).toEqual([
      ["comment.create", "owner", "owner@example.com"],
      ["comment.state", "token", "agent-full"],
      ["comment.reply", "token", "agent-full"],
      ["comment.state", "token", "agent-full"],
    ]);
    expect(page).toContain("<strong>comment.reply</strong>");
    const console = await (await getPage(api.server, "/settings/audit-logs?action=comment.reply", cookie)).text();
    expect(console).toContain(reply.json.comment.id);
    const filters = await (await getPage(api.server, "/settings/audit-logs", cookie)).text();
    for (const action of ["comment.create", "comment.reply", "comment.state", "task.note"]) expect(filters).toContain(action);
  });

  it("failed keeps the error_message; done is final (409); an agent's comment starts with no state", async () => {
    const key = await newTask("Run the migration");
    expect((await postForm(api.server, `/tasks/${key}`, { intent: "comment", body: "Please run it" }, { cookie })).status).toBe(
      303,
    );
    const asked = (await api.call("GET", `/api/tasks/${key}/comments`)).json.comments[0];
    const failed = await api.call("PATCH", `/api/task-comments/${asked.id}`, {
      body: { run_state: "failed", error_message: "database locked" },
    });
    expect(failed.status).toBe(200);
    expect(failed.json.comment).toMatchObject({ run_state: "failed", error_message: "database locked" });
    const page = await (await getPage(api.server, `/tasks/${key}`, cookie)).text();
    expect(page).toContain("database locked");
    expect((await api.call("PATCH", `/api/task-comments/${asked.id}`, { body: { run_state: "done" } })).status).toBe(200);
    const before = counts();
    const again = await api.call("PATCH", `/api/task-comments/${asked.id}`, { body: { run_state: "working" } });
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe("CONFLICT");
    const own = await api.call("POST", `/api/tasks/${key}/comments`, { body: { body: "Status: half done" } });
    expect(own.status).toBe(201);
    expect(own.json.comment).toMatchObject({ run_state: null, author: { type: "token", name: "agent-full" } });
    expect(counts()).toEqual({ comments: before.comments + 1, audit: before.audit + 1 });
  });
});

describe("bad input is a documented 4xx and writes nothing", () => {
  it("refuses writes with a read token (403) but lets it read", async () => {
    const key = await newTask("Read only");
    expect((await postForm(api.server, `/tasks/${key}`, { intent: "comment", body: "Q" }, { cookie })).status).toBe(303);
    const asked = (await api.call("GET", `/api/tasks/${key}/comments`, { token: api.readToken })).json.comments[0];
    const before = counts();
    for (const [method, path, body] of [
      ["POST", `/api/tasks/${key}/comments`, { body: "x" }],
      ["PATCH", `/api/task-comments/${asked.id}`, { run_state: "working" }],
      ["POST", `/api/task-comments/${asked.id}/reply`, { body: "x" }],
      ["PATCH", `/api/tasks/${key}`, { note_markdown: "x" }],
    ] as const) {
      const res = await api.call(method, path, { body, token: api.readToken });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.json.error).toEqual({ code: "FORBIDDEN", message: "Insufficient permissions" });
    }
    expect(counts()).toEqual(before);
  });

  it("answers empty, oversized, unknown, reply-to-reply and bad states with their codes", async () => {
    const key = await newTask("Bad input");
    expect((await postForm(api.server, `/tasks/${key}`, { intent: "comment", body: "Q" }, { cookie })).status).toBe(303);
    const asked = (await api.call("GET", `/api/tasks/${key}/comments`)).json.comments[0];
    const reply = (await api.call("POST", `/api/task-comments/${asked.id}/reply`, { body: { body: "A" } })).json.comment;
    const before = counts();
    const unknownComment = "00000000-0000-4000-8000-000000000000";
    const cases: [string, string, unknown, number, string, string?][] = [
      ["POST", `/api/tasks/${key}/comments`, { body: "" }, 400, "VALIDATION_ERROR", "body"],
      ["POST", `/api/tasks/${key}/comments`, { body: "  \n " }, 400, "VALIDATION_ERROR", "body"],
      ["POST", `/api/tasks/${key}/comments`, { body: "x".repeat(50_001) }, 400, "VALIDATION_ERROR", "body"],
      ["POST", `/api/tasks/${key}/comments`, {}, 400, "VALIDATION_ERROR", "body"],
      ["POST", `/api/tasks/${key}/comments`, { body: "x", run_state: "done" }, 400, "VALIDATION_ERROR", "run_state"],
      ["POST", `/api/tasks/TK-9999/comments`, { body: "x" }, 404, "NOT_FOUND"],
      ["POST", `/api/tasks/TK-9999/comments`, { body: "" }, 404, "NOT_FOUND"],
      ["GET", `/api/tasks/TK-9999/comments`, undefined, 404, "NOT_FOUND"],
      ["GET", `/api/task-comments/${unknownComment}`, undefined, 404, "NOT_FOUND"],
      ["GET", `/api/task-comments/not-a-uuid`, undefined, 404, "NOT_FOUND"],
      ["PATCH", `/api/task-comments/${unknownComment}`, { run_state: "done" }, 404, "NOT_FOUND"],
      ["POST", `/api/task-comments/${unknownComment}/reply`, { body: "x" }, 404, "NOT_FOUND"],
      ["POST", `/api/task-comments/${reply.id}/reply`, { body: "deeper" }, 409, "CONFLICT"],
      ["POST", `/api/task-comments/${asked.id}/reply`, { body: "" }, 400, "VALIDATION_ERROR", "body"],
      ["PATCH", `/api/task-comments/${asked.id}`, { run_state: "running" }, 400, "VALIDATION_ERROR", "run_state"],
      ["PATCH", `/api/task-comments/${asked.id}`, { run_state: null }, 400, "VALIDATION_ERROR", "run_state"],
      [
        "PATCH",
        `/api/task-comments/${asked.id}`,
        { run_state: "done", error_message: "x" },
        400,
        "VALIDATION_ERROR",
        "error_message",
      ],
      ["PATCH", `/api/task-comments/${reply.id}`, { run_state: "working" }, 409, "CONFLICT"],
      [
        "PATCH",
        `/api/tasks/${key}`,
        { artifacts: [{ type: "pr", title: "x", url: "javascript:alert(1)" }] },
        400,
        "VALIDATION_ERROR",
        "artifacts.0.url",
      ],
      ["PATCH", `/api/tasks/${key}`, { note_markdown: "x".repeat(50_001) }, 400, "VALIDATION_ERROR", "note_markdown"],
      ["PATCH", `/api/tasks/${key}`, { note_markdown: "x", title: "y" }, 400, "VALIDATION_ERROR", "note_markdown"],
      ["PATCH", `/api/tasks/TK-9999`, { note_markdown: "x" }, 404, "NOT_FOUND"],
      ["GET", `/api/activity?cursor=garbage`, undefined, 400, "VALIDATION_ERROR", "cursor"],
      ["GET", `/api/activity?project_key=NOPE`, undefined, 404, "NOT_FOUND"],
      ["GET", `/api/activity?from=yesterday`, undefined, 400, "VALIDATION_ERROR", "from"],
    ];
    for (const [method, path, body, status, code, detail] of cases) {
      const res = await api.call(method, path, body === undefined ? {} : { body });
      const label = `${method} ${path} ${JSON.stringify(body)?.slice(0, 80)}`;
      expect(res.status, label).toBe(status);
      expect(res.json.error.code, label).toBe(code);
      if (detail)
        expect(
          res.json.error.details.map((d: { path: string }) => d.path),
          label,
        ).toContain(detail);
    }
    const huge = await api.call("POST", `/api/tasks/${key}/comments`, {
      raw: JSON.stringify({ body: "x".repeat(1_100_000) }),
      headers: { "Content-Type": "application/json" },
    });
    expect(huge.status).toBe(413);
    expect(huge.json.error.code).toBe("PAYLOAD_TOO_LARGE");
    expect(counts()).toEqual(before);
    const task = (await api.call("GET", `/api/tasks/${key}`)).json.task;
    expect(task).toMatchObject({ version: 1, title: "Bad input", note_markdown: null, artifacts: [] });
  });

  it("the page answers an empty or oversized comment inline with the text kept, and posts nothing", async () => {
    const key = await newTask("Page errors");
    const before = counts();
    const empty = await postForm(api.server, `/tasks/${key}`, { intent: "comment", body: "   " }, { cookie });
    expect(empty.status).toBe(400);
    const emptyHtml = await empty.text();
    expect(emptyHtml).toContain("The comment was not posted.");
    expect(emptyHtml).toContain("Must not be empty");
    const text = `keep me ${"y".repeat(50_000)}`;
    const long = await postForm(api.server, `/tasks/${key}`, { intent: "comment", body: text }, { cookie });
    expect(long.status).toBe(400);
    const longHtml = await long.text();
    expect(longHtml).toContain("Must be at most 50000 characters");
    expect(longHtml).toMatch(/<textarea[^>]*name="body"[^>]*>keep me y{100}/);
    const missing = await postForm(api.server, `/tasks/TK-9999`, { intent: "comment", body: "x" }, { cookie });
    expect(missing.status).toBe(404);
    expect(counts()).toEqual(before);
  });
});

describe("note and artifacts", () => {
  it("PATCH sets note_markdown (or noteMarkdown) and artifacts without changing status; one task.note entry; If-Match honoured", async () => {
    const key = await newTask("Take notes");
    const artifacts = [
      { type: "pr", title: "PR #7", url: "https://github.com/o/r/pull/7" },
      { type: "log", title: "CI log", url: "http://ci.example.com/1" },
    ];
    const set = await api.call("PATCH", `/api/tasks/${key}`, { body: { noteMarkdown: "## Doing\n- step 1", artifacts } });
    expect(set.status).toBe(200);
    expect(set.json.task).toMatchObject({ status: "todo", version: 2, note_markdown: "## Doing\n- step 1", artifacts });
    expect(set.headers.get("etag")).toBe('"2"');
    const stale = await api.call("PATCH", `/api/tasks/${key}`, { body: { note_markdown: "x" }, headers: { "If-Match": '"1"' } });
    expect(stale.status).toBe(412);
    const entries = api.rows<{ action: string; changes: string }>(
      "select action, changes from audit_log where resource_type = 'task' and resource_id = ? order by seq",
      key,
    );
    expect(entries.map((e) => e.action)).toEqual(["task.create", "task.note"]);
    expect(JSON.parse(entries[1]!.changes).note_markdown).toEqual({ before: null, after: "## Doing\n- step 1" });
    const page = await (await getPage(api.server, `/tasks/${key}`, cookie)).text();
    expect(page).toContain("Agent note");
    expect(page).toContain('<a href="https://github.com/o/r/pull/7" rel="noopener noreferrer nofollow">PR #7</a>');
  });

  it("hostile Markdown in comments and notes is inert on the page", async () => {
    const key = await newTask("Hostile");
    const hostile =
      '<script>window.pwned=1</script>\n\n[click](javascript:alert(1)) <img src=x onerror="alert(1)"> ![i](https://evil.example/x.png) <a href="javascript:alert(2)">a</a>';
    expect((await api.call("POST", `/api/tasks/${key}/comments`, { body: { body: hostile } })).status).toBe(201);
    expect((await api.call("PATCH", `/api/tasks/${key}`, { body: { note_markdown: hostile } })).status).toBe(200);
    const page = await (await getPage(api.server, `/tasks/${key}`, cookie)).text();
    const main = page.slice(page.indexOf('id="note-title"'), page.indexOf('id="history-title"'));
    expect(main).toContain("click");
    expect(main).not.toMatch(/<script>window\.pwned/);
    expect(main).not.toMatch(/href="javascript:/i);
    expect(main).not.toMatch(/<img/i);
    expect(main).not.toMatch(/onerror=/i);
  });
});

describe("activity", () => {
  it("lists a project's tasks, project and comments newest first, paged by next_cursor", async () => {
    await new Promise((r) => setTimeout(r, 5));
    const from = new Date().toISOString();
    const key = await newTask("Quiet one", "QT");
    expect((await postForm(api.server, `/tasks/${key}`, { intent: "comment", body: "Anything\nnew?" }, { cookie })).status).toBe(
      303,
    );
    const asked = (await api.call("GET", `/api/tasks/${key}/comments`)).json.comments[0];
    await api.call("PATCH", `/api/task-comments/${asked.id}`, { body: { run_state: "working" } });
    await api.call("POST", `/api/task-comments/${asked.id}/reply`, { body: { body: "Yes" } });
    await api.call("PATCH", `/api/tasks/${key}`, { body: { note_markdown: "n" } });

    const seen: { action: string; task_key: string | null; actor: string; summary: string; at: string }[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await api.call(
        "GET",
        `/api/activity?project_key=qt&from=${encodeURIComponent(from)}&limit=2${cursor ? `&cursor=${cursor}` : ""}`,
        { token: api.readToken },
      );
      expect(res.status).toBe(200);
      expect(res.json.activity.length).toBeLessThanOrEqual(2);
      seen.push(...res.json.activity);
      cursor = res.json.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(seen.map((a) => [a.action, a.task_key])).toEqual([
      ["task.note", key],
      ["comment.reply", key],
      ["comment.state", key],
      ["comment.create", key],
      ["task.create", key],
    ]);
    expect(Object.keys(seen[0]!)).toEqual(["at", "action", "actor", "task_key", "summary"]);
    expect(seen[3]).toMatchObject({ actor: "owner@example.com", summary: `Commented on ${key}: Anything new?` });
    expect(seen[2]).toMatchObject({ actor: "agent-full", summary: `Marked a comment on ${key} working` });
    // Another project's entries stay out; the project's own creation is before `from`.
    const all = (await api.call("GET", `/api/activity?project_key=QT`)).json.activity;
    expect(all.at(-1)).toMatchObject({ action: "project.create", task_key: null });
    expect(all.every((a: { task_key: string | null }) => a.task_key === null || a.task_key.startsWith("QT-"))).toBe(true);
  });

  it("is in the OpenAPI document with the comment routes", async () => {
    const doc = (await api.call("GET", "/api/openapi.json", { token: null })).json;
    for (const path of [
      "/api/tasks/{id}/comments",
      "/api/task-comments/{id}",
      "/api/task-comments/{id}/reply",
      "/api/activity",
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
    expect(doc.components.schemas.Comment.properties.author).toBeDefined();
  });
});
