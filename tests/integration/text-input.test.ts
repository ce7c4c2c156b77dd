/**
 * Control and bidirectional-formatting characters in stored text, against the
 * production server: the JSON API answers 400 VALIDATION_ERROR naming the field,
 * the API Keys form shows the error inline with the value kept, the CLI exits
 * non-zero — and nothing is stored by any of them.
 */
import SQLite from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postForm, signIn } from "../support/http";
import { runCli } from "../support/server";
import { startApiServer, type ApiResult, type ApiServer } from "./api-client";

/** A NUL, an ANSI colour escape, a right-to-left override, a C1 CSI and a bell inside an OSC 8 hyperlink. */
const HOSTILE: [string, string][] = [
  ["a\u0000b", "Must not contain control characters (found U+0000)"],
  ["\u001b[31m", "Must not contain control characters (found U+001B)"],
  ["\u202e", "Must not contain bidirectional formatting characters (found U+202E)"],
  ["invoice\u202Efdp.exe", "Must not contain bidirectional formatting characters (found U+202E)"],
  ["a\u009b2Jb", "Must not contain control characters (found U+009B)"],
  ["x\u2066y\u2069", "Must not contain bidirectional formatting characters (found U+2066)"],
];

let api: ApiServer;
beforeAll(async () => {
  api = await startApiServer();
  expect((await api.call("POST", "/api/projects", { body: { name: "Text", project_key: "TXT" } })).status).toBe(201);
  expect((await api.call("POST", "/api/tasks", { body: { title: "first", labels: ["keep"] } })).status).toBe(201);
});
afterAll(async () => {
  await api?.stop();
});

/** Row counts of everything a refused request could have written. */
function counts() {
  const [row] = api.rows<Record<string, number>>(
    `SELECT (SELECT count(*) FROM tasks) AS tasks, (SELECT count(*) FROM projects) AS projects,
            (SELECT count(*) FROM labels) AS labels, (SELECT count(*) FROM audit_log) AS audit,
            (SELECT count(*) FROM api_tokens) AS tokens`,
  );
  return row!;
}

function expectRefused(res: ApiResult, path: string, message: string) {
  expect(res.status, path).toBe(400);
  expect(res.json.error.code).toBe("VALIDATION_ERROR");
  expect(res.json.error.details, path).toEqual([{ path, message }]);
}

describe("the JSON API refuses control and bidirectional characters", () => {
  it("in a task's title, labels and acceptance criteria, naming the field, and stores nothing", async () => {
    const before = counts();
    for (const [bad, message] of HOSTILE) {
      expectRefused(await api.call("POST", "/api/tasks", { body: { title: bad } }), "title", message);
      expectRefused(await api.call("POST", "/api/tasks", { body: { title: "ok", labels: ["keep", bad] } }), "labels.1", message);
      expectRefused(
        await api.call("POST", "/api/tasks", { body: { title: "ok", acceptance_criteria: [bad] } }),
        "acceptance_criteria.0",
        message,
      );
      expectRefused(await api.call("PATCH", "/api/tasks/TXT-1", { body: { title: `t${bad}` } }), "title", message);
      expectRefused(await api.call("PATCH", "/api/tasks/TXT-1", { body: { labels: [bad] } }), "labels.0", message);
    }
    expect(counts()).toEqual(before);
    const task = (await api.call("GET", "/api/tasks/TXT-1")).json.task;
    expect(task).toMatchObject({ title: "first", labels: ["keep"], version: 1 });
  });

  it("in a project's name, repository URL and branch setting, and stores nothing", async () => {
    const before = counts();
    for (const [bad, message] of HOSTILE) {
      expectRefused(await api.call("POST", "/api/projects", { body: { name: bad } }), "name", message);
      expectRefused(
        await api.call("POST", "/api/projects", { body: { name: "ok", repo_url: `https://git.example.com/a/${bad}` } }),
        "repo_url",
        message,
      );
      expectRefused(await api.call("PATCH", "/api/projects/TXT", { body: { name: `P${bad}` } }), "name", message);
    }
    const branch = await api.call("PATCH", "/api/projects/TXT", { body: { settings: { deploy_default_branch: "main\u202e" } } });
    expectRefused(
      branch,
      "settings.deploy_default_branch",
      "Must not contain bidirectional formatting characters (found U+202E)",
    );
    expect(counts()).toEqual(before);
    expect((await api.call("GET", "/api/projects/TXT")).json.project.name).toBe("Text");
    expect((await api.call("GET", "/api/projects/TXT/settings")).json.settings.deploy_default_branch).toBe("main");
  });

  it("in descriptions and plans only the controls: tab, LF and CRLF are kept, as is right-to-left prose", async () => {
    expectRefused(
      await api.call("PATCH", "/api/tasks/TXT-1", { body: { description: "clear\u001b[2J" } }),
      "description",
      "Must not contain control characters (found U+001B)",
    );
    expectRefused(
      await api.call("PATCH", "/api/tasks/TXT-1", { body: { planMarkdown: "rm -rf ~\rlooks fine" } }),
      "planMarkdown",
      "Must not contain a carriage return except in a CRLF line break (found U+000D)",
    );
    const description = "line one\r\nline two\n\t- indented\nשלום (C++)\u200F";
    const ok = await api.call("PATCH", "/api/tasks/TXT-1", { body: { description, plan_markdown: "1. a\n2. b\n" } });
    expect(ok.status).toBe(200);
    expect(ok.json.task).toMatchObject({ description, plan_markdown: "1. a\n2. b\n" });
  });

  it("accepts ordinary Unicode in the same fields and returns it unchanged", async () => {
    const title = "修复 ログイン — שלום עולם مرحبا 🚀 👩‍💻";
    const res = await api.call("POST", "/api/tasks", {
      body: { title, project_key: "TXT", labels: ["Ünïcode", "עברית"], acceptance_criteria: ["✓ 完了"] },
    });
    expect(res.status).toBe(201);
    expect(res.json.task).toMatchObject({ title, labels: ["Ünïcode", "עברית"], acceptance_criteria: ["✓ 完了"] });
    const project = await api.call("POST", "/api/projects", { body: { name: "Café ☕ プロジェクト", project_key: "CAFE" } });
    expect(project.status).toBe(201);
    expect(project.json.project.name).toBe("Café ☕ プロジェクト");
  });

  it("in the q filter", async () => {
    const res = await api.call("GET", `/api/tasks?q=${encodeURIComponent("\u001b]0;pwned\u0007")}`);
    expect(res.status).toBe(400);
    expect(res.json.error.details).toEqual([{ path: "q", message: "Must not contain control characters (found U+001B)" }]);
  });
});

describe("token names", () => {
  it("the API Keys form shows the error inline, keeps the value and creates nothing", async () => {
    const cookie = await signIn(api.server);
    const before = counts();
    for (const [bad, message] of [
      ["ci\u0000bot", "Must not contain control characters (found U+0000)"],
      ["ci\u001b[31mbot", "Must not contain control characters (found U+001B)"],
      ["ci\u202ebot", "Must not contain bidirectional formatting characters (found U+202E)"],
    ] as const) {
      const res = await postForm(
        api.server,
        "/settings/api-keys",
        { intent: "create", name: bad, expires_in_days: "30", scope: "read" },
        { cookie },
      );
      const html = await res.text();
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(html).toContain(`<p class="field-error" id="field-name-error">${message}</p>`);
      expect(html).not.toMatch(/preq_[A-Za-z0-9]{32}/);
      // The value is kept, the other choices too. (An HTML parser turns a NUL in an attribute into U+FFFD.)
      expect(html).toContain(`value="${bad}"`);
      expect(html).toMatch(/<option value="30" selected="">/);
      expect(html).toMatch(/name="scope" checked="" value="read"/);
    }
    expect(counts()).toEqual(before);
  });

  it("the CLI's token create --name exits non-zero with a clear message, prints no escape and creates nothing", async () => {
    const before = counts();
    for (const [bad, message] of [
      ["ci\u001b[31mbot", "--name: Must not contain control characters (found U+001B)"],
      ["ci\u202ebot", "--name: Must not contain bidirectional formatting characters (found U+202E)"],
      ["ci\u0085bot", "--name: Must not contain control characters (found U+0085)"],
    ] as const) {
      const result = await runCli(["token", "create", "--name", bad], { dbPath: api.server.dbPath });
      expect(result.code, bad).not.toBe(0);
      expect(result.stdout).toBe("");
      expect(result.stderr).toContain(message);
      for (const raw of ["\u001b", "\u202e", "\u0085"]) expect(result.stderr).not.toContain(raw);
    }
    expect(counts()).toEqual(before);
  });

  it("token list and revoke print a name stored before the rule existed with its escapes made visible", async () => {
    const db = new SQLite(api.server.dbPath, { fileMustExist: true });
    try {
      const owner = db.prepare("SELECT owner_id FROM api_tokens LIMIT 1").get() as { owner_id: string };
      db.prepare(
        "INSERT INTO api_tokens (owner_id, name, token_hash, hint, scope, created_at) VALUES (?, ?, ?, ?, 'read', ?)",
      ).run(owner.owner_id, "legacy\u009b2J\u202eexe", "0".repeat(64), "preq_abcd…wxyz", new Date().toISOString());
    } finally {
      db.close();
    }
    const list = await runCli(["token", "list"], { dbPath: api.server.dbPath });
    expect(list.code).toBe(0);
    expect(list.stdout).toContain("legacy\\u{009B}2J\\u{202E}exe");
    for (const raw of ["\u009b", "\u202e"]) expect(list.stdout).not.toContain(raw);
    const id = /^(\d+)\s+legacy/m.exec(list.stdout)?.[1];
    const revoked = await runCli(["token", "revoke", id!], { dbPath: api.server.dbPath });
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toBe(`Token ${id} (legacy\\u{009B}2J\\u{202E}exe) revoked; it is refused from the next request on.\n`);
  });
});
