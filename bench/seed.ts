/**
 * Seeds a benchmark database FAST, straight through better-sqlite3 into the real
 * schema: the real migrations first (`migrate`), then one owner (a real scrypt hash,
 * so sign-in works), one full-scope token (stored as its SHA-256 like tokens.server),
 * projects, labels, tasks, and a hash-chained audit log (`seedAuditLog`, which chains
 * with the same `chainHash`/`canonicalEntry` as the app, so `audit verify` passes).
 *
 * Usable on its own: `tsx bench/seed.ts <file.db> [tasks] [auditEntries]`.
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import { seedAuditLog } from "./lib/audit-seed";
import { auditKeyFileFor, loadAuditSigner } from "../app/lib/audit/signing.server";
import { migrate, openDatabase } from "../app/lib/db.server";
import { labelColor, labelKey } from "../app/lib/tasks/labels.server";
import { createPasswordHasher } from "../app/lib/auth/password.server";
import { generateToken, hashToken, tokenHint } from "../app/lib/tokens/tokens.server";

export const BENCH_EMAIL = "bench@example.com";
export const BENCH_PASSWORD = "bench password, long enough";
export const PROJECT_KEYS = ["ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO"] as const;
export const LABELS = ["backend", "frontend", "bug", "infra", "docs", "security"] as const;

const STATUSES = ["inbox", "todo", "hold", "ready", "done"] as const;
const PRIORITIES = ["highest", "high", "medium", "low", "lowest", "none"] as const;
const ENGINES = [null, "claude-code", "codex", "gemini-cli"] as const;

export interface SeedOptions {
  tasks: number;
  projects?: number;
  auditEntries: number;
  /** Run ANALYZE after seeding (planner statistics in sqlite_stat1). */
  analyze?: boolean;
}

export interface SeededDatabase {
  dbPath: string;
  token: string;
  email: string;
  password: string;
  /** Keys of tasks in `hold` or `todo`: `start` and `block` are always allowed on them. */
  patchableKeys: string[];
  /** A spread of task keys for GET /api/tasks/:id. */
  readableKeys: string[];
  lastAuditSeq: number;
  ms: number;
}

export async function seedBenchDatabase(dbPath: string, options: SeedOptions): Promise<SeededDatabase> {
  const started = performance.now();
  for (const f of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`]) fs.rmSync(f, { force: true });
  const { db, sqlite } = openDatabase(dbPath);
  try {
    await migrate(db);
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();

    const ownerId = randomUUID();
    sqlite
      .prepare("insert into owners (id, singleton, email, password_hash, created_at, updated_at) values (?, 1, ?, ?, ?, ?)")
      .run(ownerId, BENCH_EMAIL, await createPasswordHasher().hash(BENCH_PASSWORD), iso(now), iso(now));

    const token = generateToken();
    sqlite
      .prepare(
        "insert into api_tokens (owner_id, name, token_hash, hint, scope, created_at) values (?, 'bench', ?, ?, 'full', ?)",
      )
      .run(ownerId, hashToken(token), tokenHint(token), iso(now));

    const projectCount = options.projects ?? PROJECT_KEYS.length;
    const keys = PROJECT_KEYS.slice(0, projectCount);
    const perProject = new Map<string, number>(keys.map((k) => [k, 0]));
    const patchableKeys: string[] = [];
    const readableKeys: string[] = [];

    const insertProject = sqlite.prepare(
      `insert into projects (id, project_key, name, description, repo_url, repo_key, settings, next_task_number, created_at, updated_at)
       values (?, ?, ?, '', ?, ?, '{}', 1, ?, ?)`,
    );
    const insertLabel = sqlite.prepare(
      "insert into labels (project_id, name, name_key, color, created_at) values (?, ?, ?, ?, ?) returning id",
    );
    const insertTask = sqlite.prepare(
      `insert into tasks (id, task_key, project_id, number, title, description, status, priority, acceptance_criteria,
         plan_markdown, engine, branch, run_state, run_state_updated_at, result, version, created_at, updated_at, archived_at)
       values (@id, @task_key, @project_id, @number, @title, @description, @status, @priority, @acceptance_criteria,
         null, @engine, @branch, null, null, null, 1, @created_at, @updated_at, null)`,
    );
    const insertTaskLabel = sqlite.prepare("insert into task_labels (task_id, label_id, position) values (?, ?, ?)");
    const setCounter = sqlite.prepare("update projects set next_task_number = ? where id = ?");

    const projectIds: string[] = [];
    const labelIds: number[][] = [];
    sqlite
      .transaction(() => {
        keys.forEach((key, i) => {
          const id = randomUUID();
          projectIds.push(id);
          insertProject.run(
            id,
            key,
            `Project ${key}`,
            `https://github.com/bench/${key.toLowerCase()}`,
            `bench/${key.toLowerCase()}`,
            iso(now),
            iso(now),
          );
          labelIds[i] = LABELS.map(
            (name) => (insertLabel.get(id, name, labelKey(name), labelColor(name), iso(now)) as { id: number }).id,
          );
        });
        // Newest task last; updated_at one second apart ending now.
        for (let n = 0; n < options.tasks; n += 1) {
          const p = n % keys.length;
          const key = keys[p]!;
          const number = (perProject.get(key) ?? 0) + 1;
          perProject.set(key, number);
          const taskKey = `${key}-${number}`;
          const at = iso(now - (options.tasks - n) * 1_000);
          const status = STATUSES[n % STATUSES.length]!;
          const id = randomUUID();
          insertTask.run({
            id,
            task_key: taskKey,
            project_id: projectIds[p],
            number,
            title: `Task ${n + 1}: make the ${LABELS[n % LABELS.length]} part of ${key} faster`,
            description: `Synthetic task ${n + 1} for the benchmark. `.repeat(4),
            status,
            priority: PRIORITIES[n % PRIORITIES.length],
            acceptance_criteria: JSON.stringify([`Criterion A of task ${n + 1}`, `Criterion B of task ${n + 1}`]),
            engine: ENGINES[n % ENGINES.length],
            branch: n % 3 === 0 ? `task/${taskKey.toLowerCase()}` : null,
            created_at: at,
            updated_at: at,
          });
          const labelCount = n % 3; // 0, 1 or 2 labels
          for (let l = 0; l < labelCount; l += 1) insertTaskLabel.run(id, labelIds[p]![(n + l) % LABELS.length], l);
          if ((status === "hold" || status === "todo") && patchableKeys.length < 2_000) patchableKeys.push(taskKey);
          if (n % Math.max(1, Math.floor(options.tasks / 2_000)) === 0) readableKeys.push(taskKey);
        }
        keys.forEach((key, i) => setCounter.run((perProject.get(key) ?? 0) + 1, projectIds[i]));
      })
      .immediate();

    // Signed with the key the server will find beside the database.
    const signer = loadAuditSigner({ auditSigningKey: null, auditKeyFile: auditKeyFileFor(dbPath) }, { create: true })!;
    const audit = seedAuditLog(sqlite, { count: options.auditEntries, now, signer });
    // The app never runs ANALYZE, so a real database has no planner statistics; neither
    // does this one unless asked (`analyze: true` shows how the plans change with them).
    if (options.analyze) sqlite.exec("analyze");
    sqlite.pragma("wal_checkpoint(TRUNCATE)");
    return {
      dbPath,
      token,
      email: BENCH_EMAIL,
      password: BENCH_PASSWORD,
      patchableKeys,
      readableKeys,
      lastAuditSeq: audit.lastSeq,
      ms: Math.round(performance.now() - started),
    };
  } finally {
    await db.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, tasks = "10000", audit = "100000"] = process.argv.slice(2);
  if (!file) {
    process.stderr.write("usage: tsx bench/seed.ts <file.db> [tasks] [auditEntries]\n");
    process.exit(2);
  }
  const seeded = await seedBenchDatabase(file, { tasks: Number(tasks), auditEntries: Number(audit) });
  process.stdout.write(`Seeded ${file} in ${seeded.ms} ms. Token: ${seeded.token}\n`);
}
