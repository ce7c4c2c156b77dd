/**
 * The "speed of light" for PreqStation's API work in Node: plain node:http and
 * better-sqlite3 prepared statements, no framework, no validation library, no
 * per-request allocations beyond what the work needs. Per request it does what the
 * real server must do:
 *
 *   - parse `Authorization: Bearer preq_…`, SHA-256 it, look the token up by hash,
 *     check revocation/expiry and the owner, refresh last-used at most once a minute;
 *   - GET /api/tasks?limit=N: the same keyset query (same columns, join, order, limit+1),
 *     the labels of the page, the available labels, the same JSON shape and next_cursor;
 *   - GET /api/tasks/:key: the same lookup, labels, JSON and ETag;
 *   - POST /api/tasks: in one BEGIN IMMEDIATE transaction, the project's counter bump,
 *     the task insert, its labels, and its hash-chained audit entry (same chain hash);
 *   - PATCH /api/tasks/:key with `lifecycle_action` start/block (or a title), version +1,
 *     with its audit entry in the same transaction.
 *
 * Same database file and pragmas as the app (WAL, synchronous=FULL, foreign_keys,
 * busy_timeout). It implements only what the benchmark sends; anything else is a 404.
 * Run: `DATABASE_PATH=… PORT=… tsx bench/baseline.ts`.
 */
import { createHash, randomUUID } from "node:crypto";
import http from "node:http";
import SQLite from "better-sqlite3";
import { canonicalEntry, chainHash, GENESIS_HASH } from "../app/lib/audit/log.server";

const dbPath = process.env.DATABASE_PATH;
if (!dbPath) throw new Error("DATABASE_PATH is required");
const sqlite = new SQLite(dbPath);
sqlite.pragma("journal_mode = WAL");
sqlite.pragma("synchronous = FULL");
sqlite.pragma("foreign_keys = ON");
sqlite.pragma("busy_timeout = 5000");

interface TokenRow {
  id: number;
  owner_id: string;
  name: string;
  scope: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}
interface TaskRow {
  id: string;
  task_key: string;
  project_id: string;
  number: number;
  title: string;
  description: string;
  status: string;
  priority: string;
  acceptance_criteria: string;
  plan_markdown: string | null;
  engine: string | null;
  branch: string | null;
  run_state: string | null;
  run_state_updated_at: string | null;
  result: string | null;
  version: number;
  created_at: string;
  updated_at: string;
  archived_at: string | null;
  project_key: string;
  repo_url: string | null;
}

const TASK_COLUMNS = "tasks.*, projects.project_key, projects.repo_url";
const stmt = {
  token: sqlite.prepare("select * from api_tokens where token_hash = ?"),
  owner: sqlite.prepare("select id from owners limit 1"),
  touch: sqlite.prepare(
    "update api_tokens set last_used_at = ?, last_used_ip = ? where id = ? and (last_used_at is null or last_used_at <= ?)",
  ),
  page: sqlite.prepare(
    `select ${TASK_COLUMNS} from tasks inner join projects on projects.id = tasks.project_id
     order by tasks.updated_at desc, tasks.id desc limit ?`,
  ),
  available: sqlite.prepare("select name, name_key, color from labels order by name_key, id"),
  byKey: sqlite.prepare(
    `select ${TASK_COLUMNS} from tasks inner join projects on projects.id = tasks.project_id where tasks.task_key = ?`,
  ),
  project: sqlite.prepare("select id, project_key, repo_url from projects where project_key = ?"),
  bump: sqlite.prepare("update projects set next_task_number = next_task_number + 1 where id = ? returning next_task_number"),
  insertTask: sqlite.prepare(
    `insert into tasks (id, task_key, project_id, number, title, description, status, priority, acceptance_criteria,
       plan_markdown, engine, branch, run_state, run_state_updated_at, result, version, created_at, updated_at, archived_at)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, null, ?, ?, null, null, null, 1, ?, ?, null)`,
  ),
  deleteTaskLabels: sqlite.prepare("delete from task_labels where task_id = ?"),
  insertTaskLabel: sqlite.prepare("insert into task_labels (task_id, label_id, position) values (?, ?, ?)"),
  auditHead: sqlite.prepare("select seq, hash from audit_log order by seq desc limit 1"),
  insertAudit: sqlite.prepare(
    `insert into audit_log (seq, created_at, actor_type, actor_id, actor_label, action, resource_type, resource_id,
       changes, ip, user_agent, request_id, prev_hash, hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ),
  updateLifecycle: sqlite.prepare(
    "update tasks set status = ?, run_state = ?, run_state_updated_at = ?, version = ?, updated_at = ? where id = ?",
  ),
  updateTitle: sqlite.prepare("update tasks set title = ?, version = ?, updated_at = ? where id = ?"),
};

// `in (?, ?, …)` statements, one per list length, prepared once.
const labelsOfStmts = new Map<number, SQLite.Statement>();
function labelsOf(ids: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return out;
  let s = labelsOfStmts.get(ids.length);
  if (!s) {
    s = sqlite.prepare(
      `select task_labels.task_id, labels.name from task_labels inner join labels on labels.id = task_labels.label_id
       where task_labels.task_id in (${ids.map(() => "?").join(", ")}) order by task_labels.task_id, task_labels.position`,
    );
    labelsOfStmts.set(ids.length, s);
  }
  for (const row of s.all(...ids) as { task_id: string; name: string }[]) out.get(row.task_id)?.push(row.name);
  return out;
}
const labelsByKeyStmts = new Map<number, SQLite.Statement>();
function labelsByKeys(projectId: string, keys: string[]): { id: number; name: string; name_key: string }[] {
  let s = labelsByKeyStmts.get(keys.length);
  if (!s) {
    s = sqlite.prepare(
      `select id, name, name_key from labels where project_id = ? and name_key in (${keys.map(() => "?").join(", ")})`,
    );
    labelsByKeyStmts.set(keys.length, s);
  }
  return s.all(projectId, ...keys) as { id: number; name: string; name_key: string }[];
}

function view(row: TaskRow, labels: string[]) {
  return {
    id: row.task_key,
    uuid: row.id,
    task_key: row.task_key,
    project_key: row.project_key,
    title: row.title,
    description: row.description,
    status: row.status,
    priority: row.priority,
    labels,
    acceptance_criteria: JSON.parse(row.acceptance_criteria) as string[],
    plan_markdown: row.plan_markdown,
    engine: row.engine,
    branch: row.branch,
    run_state: row.run_state,
    run_state_updated_at: row.run_state_updated_at,
    result: row.result === null ? null : (JSON.parse(row.result) as unknown),
    repo: row.repo_url,
    version: row.version,
    created_at: row.created_at,
    updated_at: row.updated_at,
    archived_at: row.archived_at,
  };
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-store",
    ...headers,
  });
  res.end(text);
}

const BEARER = /^bearer +(preq_[A-Za-z0-9]{32}) *$/i;
const LAST_USED_INTERVAL_MS = 60_000;

function authenticate(req: http.IncomingMessage, ip: string): TokenRow | null {
  const m = BEARER.exec(req.headers.authorization ?? "");
  if (!m) return null;
  const token = stmt.token.get(createHash("sha256").update(m[1]!, "utf8").digest("hex")) as TokenRow | undefined;
  const now = Date.now();
  if (!token || token.revoked_at !== null || (token.expires_at !== null && Date.parse(token.expires_at) <= now)) return null;
  const owner = stmt.owner.get() as { id: string } | undefined;
  if (!owner || owner.id !== token.owner_id) return null;
  if (token.last_used_at === null || now - Date.parse(token.last_used_at) >= LAST_USED_INTERVAL_MS) {
    stmt.touch.run(new Date(now).toISOString(), ip, token.id, new Date(now - LAST_USED_INTERVAL_MS).toISOString());
  }
  return token;
}

function appendAudit(
  token: TokenRow,
  req: http.IncomingMessage,
  ip: string,
  action: string,
  resourceId: string,
  changes: unknown,
  at: string,
) {
  const head = stmt.auditHead.get() as { seq: number; hash: string } | undefined;
  const base = {
    seq: (head?.seq ?? 0) + 1,
    created_at: at,
    actor_type: "token" as const,
    actor_id: String(token.id),
    actor_label: token.name,
    action,
    resource_type: "task",
    resource_id: resourceId,
    changes: JSON.stringify(changes),
    ip,
    user_agent: (req.headers["user-agent"] ?? "").slice(0, 512),
    request_id: randomUUID(),
  };
  const prev = head?.hash ?? GENESIS_HASH;
  const hash = chainHash(prev, canonicalEntry(base));
  stmt.insertAudit.run(
    base.seq,
    base.created_at,
    base.actor_type,
    base.actor_id,
    base.actor_label,
    base.action,
    base.resource_type,
    base.resource_id,
    base.changes,
    base.ip,
    base.user_agent,
    base.request_id,
    prev,
    hash,
  );
}

const listTasks = (limit: number) => {
  const rows = stmt.page.all(limit + 1) as TaskRow[];
  const page = rows.slice(0, limit);
  const labels = labelsOf(page.map((r) => r.id));
  const last = page.at(-1);
  const seen = new Set<string>();
  const available: { name: string; color: string }[] = [];
  for (const l of stmt.available.all() as { name: string; name_key: string; color: string }[]) {
    if (seen.has(l.name_key)) continue;
    seen.add(l.name_key);
    available.push({ name: l.name, color: l.color });
  }
  return {
    tasks: page.map((r) => view(r, labels.get(r.id) ?? [])),
    next_cursor:
      rows.length > limit && last
        ? Buffer.from(JSON.stringify({ v: 1, u: last.updated_at, i: last.id }), "utf8").toString("base64url")
        : null,
    available_labels: available,
  };
};

const createTask = sqlite.transaction(
  (
    token: TokenRow,
    req: http.IncomingMessage,
    ip: string,
    body: { title: string; project_key: string; labels: string[]; priority?: string },
  ) => {
    const project = stmt.project.get(body.project_key.toUpperCase()) as
      { id: string; project_key: string; repo_url: string | null } | undefined;
    if (!project) return null;
    const number = (stmt.bump.get(project.id) as { next_task_number: number }).next_task_number - 1;
    const at = new Date().toISOString();
    const id = randomUUID();
    const key = `${project.project_key}-${number}`;
    const row: TaskRow = {
      id,
      task_key: key,
      project_id: project.id,
      number,
      title: body.title,
      description: "",
      status: "inbox",
      priority: body.priority ?? "none",
      acceptance_criteria: "[]",
      plan_markdown: null,
      engine: null,
      branch: null,
      run_state: null,
      run_state_updated_at: null,
      result: null,
      version: 1,
      created_at: at,
      updated_at: at,
      archived_at: null,
      project_key: project.project_key,
      repo_url: project.repo_url,
    };
    stmt.insertTask.run(id, key, project.id, number, row.title, "", "inbox", row.priority, "[]", null, null, at, at);
    const wanted = [...new Set(body.labels.map((l) => l.trim().toLowerCase()))];
    const found = wanted.length ? labelsByKeys(project.id, wanted) : [];
    const byKey = new Map(found.map((l) => [l.name_key, l]));
    const labels = wanted.map((k) => byKey.get(k)).filter((l) => l !== undefined);
    labels.forEach((l, i) => stmt.insertTaskLabel.run(id, l.id, i));
    const v = view(
      row,
      labels.map((l) => l.name),
    );
    const changes: Record<string, { before: unknown; after: unknown }> = {};
    for (const f of [
      "title",
      "description",
      "status",
      "priority",
      "labels",
      "acceptance_criteria",
      "engine",
      "branch",
    ] as const) {
      changes[f] = { before: null, after: v[f] };
    }
    appendAudit(token, req, ip, "task.create", key, changes, at);
    return v;
  },
);

const START_BLOCK_FROM = new Set(["inbox", "todo", "hold", "ready"]);
const patchTask = sqlite.transaction(
  (token: TokenRow, req: http.IncomingMessage, ip: string, key: string, body: { lifecycle_action?: string; title?: string }) => {
    const task = stmt.byKey.get(key.toUpperCase()) as TaskRow | undefined;
    if (!task) return { status: 404 as const };
    const at = new Date().toISOString();
    const changes: Record<string, { before: unknown; after: unknown }> = {};
    let next: TaskRow = task;
    if (body.lifecycle_action === "start" || body.lifecycle_action === "block") {
      if (!START_BLOCK_FROM.has(task.status)) return { status: 409 as const };
      const status = body.lifecycle_action === "block" ? "hold" : task.status;
      const runState = body.lifecycle_action === "start" ? "working" : null;
      if (status !== task.status) changes.status = { before: task.status, after: status };
      if (runState !== task.run_state) {
        changes.run_state = { before: task.run_state, after: runState };
        changes.run_state_updated_at = { before: task.run_state_updated_at, after: at };
      }
      if (Object.keys(changes).length) {
        next = {
          ...task,
          status,
          run_state: runState,
          run_state_updated_at: runState !== task.run_state ? at : task.run_state_updated_at,
          version: task.version + 1,
          updated_at: at,
        };
        stmt.updateLifecycle.run(next.status, next.run_state, next.run_state_updated_at, next.version, at, task.id);
      }
    } else if (typeof body.title === "string" && body.title !== task.title) {
      changes.title = { before: task.title, after: body.title };
      next = { ...task, title: body.title, version: task.version + 1, updated_at: at };
      stmt.updateTitle.run(next.title, next.version, at, task.id);
    }
    appendAudit(token, req, ip, "task.update", task.task_key, changes, at);
    return { status: 200 as const, task: view(next, labelsOf([task.id]).get(task.id) ?? []) };
  },
);

function readBody(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= 1024 * 1024) chunks.push(c);
    });
    req.on("end", () => {
      try {
        resolve(size > 1024 * 1024 ? undefined : JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch {
        resolve(undefined);
      }
    });
  });
}

const TASK_PATH = /^\/api\/tasks\/([^/]+)$/;

const server = http.createServer({ keepAliveTimeout: 5_000 }, async (req, res) => {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  const pathname = q === -1 ? url : url.slice(0, q);
  if (pathname === "/api/health") return send(res, 200, { ok: true });
  const ip = req.socket.remoteAddress ?? "";
  const token = authenticate(req, ip);
  if (!token) return send(res, 401, { error: { code: "UNAUTHORIZED", message: "Missing or invalid authorization header" } });

  if (pathname === "/api/tasks") {
    if (req.method === "GET") {
      const limitParam = q === -1 ? null : new URLSearchParams(url.slice(q + 1)).get("limit");
      const limit = limitParam === null ? 50 : Math.min(200, Math.max(1, Number(limitParam) || 50));
      return send(res, 200, listTasks(limit));
    }
    if (req.method === "POST") {
      const body = (await readBody(req)) as
        { title?: unknown; project_key?: unknown; labels?: unknown; priority?: unknown } | undefined;
      if (
        !body ||
        typeof body.title !== "string" ||
        body.title.length < 1 ||
        body.title.length > 180 ||
        typeof body.project_key !== "string"
      ) {
        return send(res, 400, { error: { code: "VALIDATION_ERROR", message: "Invalid body" } });
      }
      const labels = Array.isArray(body.labels) ? body.labels.filter((l): l is string => typeof l === "string") : [];
      const task = createTask.immediate(token, req, ip, {
        title: body.title,
        project_key: body.project_key,
        labels,
        priority: typeof body.priority === "string" ? body.priority : undefined,
      });
      if (!task) return send(res, 404, { error: { code: "NOT_FOUND", message: "No such project" } });
      return send(res, 201, { task }, { Location: `/api/tasks/${task.task_key}`, ETag: `"${task.version}"` });
    }
  }
  const m = TASK_PATH.exec(pathname);
  if (m) {
    const key = decodeURIComponent(m[1]!);
    if (req.method === "GET") {
      const row = stmt.byKey.get(key.toUpperCase()) as TaskRow | undefined;
      if (!row) return send(res, 404, { error: { code: "NOT_FOUND", message: "Not found" } });
      const task = view(row, labelsOf([row.id]).get(row.id) ?? []);
      return send(res, 200, { task }, { ETag: `"${task.version}"` });
    }
    if (req.method === "PATCH") {
      const body = (await readBody(req)) as { lifecycle_action?: string; title?: string } | undefined;
      if (!body || typeof body !== "object") return send(res, 400, { error: { code: "INVALID_JSON", message: "Invalid JSON" } });
      const out = patchTask.immediate(token, req, ip, key, body);
      if (out.status !== 200)
        return send(res, out.status, { error: { code: out.status === 404 ? "NOT_FOUND" : "CONFLICT", message: "No" } });
      return send(res, 200, { task: out.task }, { ETag: `"${out.task.version}"` });
    }
  }
  return send(res, 404, { error: { code: "NOT_FOUND", message: "Not found" } });
});

server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`baseline listening on ${typeof address === "object" && address ? address.port : "?"}\n`);
});
const stop = () =>
  server.close(() => {
    sqlite.close();
    process.exit(0);
  });
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
