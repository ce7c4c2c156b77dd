import { randomUUID } from "node:crypto";
import type { ProjectRow } from "../../../db/schema";
import { runCommand, type CommandDeps } from "../command/command.server";
import type { ActorContext } from "../domain/context";
import { DomainError } from "../domain/errors";
import { JsonObjectSchema, parseJsonColumn } from "../domain/json";
import { nowIso, type Db } from "../db.server";
import { preparedQuery } from "../prepared-query.server";
import { normalizeRepoUrl, repoMatchKey } from "./repo-url";
import {
  SETTINGS_DEFAULTS,
  type CreateProjectBody,
  type PatchProjectBody,
  type ProjectSettings,
  type ProjectView,
} from "./schemas";

/** What a client sees of a project (never the counter or the settings blob). */
export function projectView(row: ProjectRow): ProjectView {
  return {
    id: row.id,
    project_key: row.project_key,
    name: row.name,
    description: row.description,
    repo_url: row.repo_url,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** The stored settings over the documented defaults, every value a string. */
export function projectSettings(row: Pick<ProjectRow, "settings">): ProjectSettings {
  const stored: Record<string, unknown> = parseJsonColumn(row.settings, JsonObjectSchema, {});
  const out = { ...SETTINGS_DEFAULTS } as ProjectSettings;
  for (const key of Object.keys(SETTINGS_DEFAULTS) as (keyof ProjectSettings)[]) {
    if (typeof stored[key] === "string") out[key] = stored[key];
  }
  return out;
}

/**
 * A project key from a name: the initials of its words when it has several
 * (`Preq Station Web` → `PSW`), else its first four letters and digits; `PROJ`
 * when the name has none.
 */
export function deriveProjectKey(name: string): string {
  const words = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toUpperCase()
    .split(/[^A-Z0-9]+/)
    .filter(Boolean);
  let key =
    words.length >= 2
      ? words
          .map((w) => w[0])
          .join("")
          .slice(0, 10)
      : (words[0] ?? "").slice(0, 4);
  if (key.length < 2) key = "PROJ";
  return key;
}

export async function listProjects(db: Db): Promise<ProjectRow[]> {
  return db.selectFrom("projects").selectAll().orderBy("project_key").execute();
}

const projectByKey = preparedQuery((db, p: { key: string }) =>
  db.selectFrom("projects").selectAll().where("project_key", "=", p.key),
);

export async function findProjectByKey(db: Db, key: string): Promise<ProjectRow | undefined> {
  return projectByKey.first(db, { key: key.toUpperCase() });
}

/** Client input quoted in a message: at most 64 characters, so an error never echoes a huge path back. */
export function quoted(input: string): string {
  return input.length > 64 ? `${input.slice(0, 64)}…` : input;
}

/** The project, or NOT_FOUND naming the key. */
export async function requireProject(db: Db, key: string): Promise<ProjectRow> {
  const project = /^[A-Za-z0-9]{2,10}$/.test(key) ? await findProjectByKey(db, key) : undefined;
  if (!project) throw new DomainError("NOT_FOUND", `Project ${quoted(key)} not found`);
  return project;
}

/** Projects whose repo_url is the same repository as `repo` (in any GitHub URL form). */
export async function findProjectsByRepo(db: Db, repo: string): Promise<ProjectRow[]> {
  const key = repoMatchKey(repo);
  if (!key) return [];
  return db.selectFrom("projects").selectAll().where("repo_key", "=", key).orderBy("project_key").execute();
}

function normalizedRepo(input: string | null | undefined): { repo_url: string | null; repo_key: string | null } {
  if (input === null || input === undefined) return { repo_url: null, repo_key: null };
  const normalized = normalizeRepoUrl(input);
  if (!normalized.ok) {
    throw new DomainError("VALIDATION_ERROR", `repo_url: ${normalized.message}`, [
      { path: "repo_url", message: normalized.message },
    ]);
  }
  return { repo_url: normalized.value, repo_key: repoMatchKey(normalized.value) };
}

/**
 * Creates a project and its audit entry in one transaction. An explicit key
 * that exists is a CONFLICT; a derived key that exists gets a number appended.
 */
export async function createProject(
  deps: CommandDeps,
  ctx: ActorContext,
  input: CreateProjectBody,
  now = Date.now(),
): Promise<ProjectRow> {
  const repo = normalizedRepo(input.repo_url);
  return runCommand(deps, ctx, async (tx) => {
    const trx = tx.db;
    let key = input.project_key;
    if (key) {
      if (await findProjectByKey(trx, key)) throw new DomainError("CONFLICT", `Project key ${key} already exists`);
    } else {
      const base = deriveProjectKey(input.name);
      key = base;
      for (let n = 2; await findProjectByKey(trx, key); n++) {
        const suffix = String(n);
        key = base.slice(0, 10 - suffix.length) + suffix;
      }
    }
    const at = nowIso(now);
    const row: ProjectRow = {
      id: randomUUID(),
      project_key: key,
      name: input.name,
      description: input.description ?? "",
      repo_url: repo.repo_url,
      repo_key: repo.repo_key,
      settings: "{}",
      next_task_number: 1,
      created_at: at,
      updated_at: at,
    };
    await trx.insertInto("projects").values(row).execute();
    await tx.audit(
      {
        action: "project.create",
        resourceType: "project",
        resourceId: key,
        changes: {
          project_key: { before: null, after: key },
          name: { before: null, after: row.name },
          description: { before: null, after: row.description },
          repo_url: { before: null, after: row.repo_url },
        },
      },
      { now },
    );
    return row;
  });
}

/**
 * Updates a project's fields and settings; one audit entry with what changed. The
 * project is read once, in the transaction: not found comes before the input's
 * errors (`patch` may be a function that yields the input or throws the caller's error).
 */
export async function updateProject(
  deps: CommandDeps,
  ctx: ActorContext,
  input: { key: string; patch: PatchProjectBody | (() => PatchProjectBody) },
  now = Date.now(),
): Promise<ProjectRow> {
  const { key, patch } = input;
  return runCommand(deps, ctx, async (tx) => {
    const trx = tx.db;
    const project = await requireProject(trx, key);
    const input = typeof patch === "function" ? patch() : patch;
    const repo = input.repo_url === undefined ? undefined : normalizedRepo(input.repo_url);
    const changes: Record<string, { before: unknown; after: unknown }> = {};
    const set: Partial<ProjectRow> = {};
    if (input.name !== undefined && input.name !== project.name) {
      changes.name = { before: project.name, after: input.name };
      set.name = input.name;
    }
    if (input.description !== undefined && input.description !== project.description) {
      changes.description = { before: project.description, after: input.description };
      set.description = input.description;
    }
    if (repo && repo.repo_url !== project.repo_url) {
      changes.repo_url = { before: project.repo_url, after: repo.repo_url };
      set.repo_url = repo.repo_url;
      set.repo_key = repo.repo_key;
    }
    if (input.settings) {
      const before = projectSettings(project);
      const after = { ...before };
      for (const [name, value] of Object.entries(input.settings) as [keyof ProjectSettings, string | undefined][]) {
        if (value === undefined || before[name] === value) continue;
        after[name] = value;
        changes[`settings.${name}`] = { before: before[name], after: value };
      }
      if (JSON.stringify(after) !== JSON.stringify(before)) set.settings = JSON.stringify(after);
    }
    if (Object.keys(set).length > 0) {
      set.updated_at = nowIso(now);
      await trx.updateTable("projects").set(set).where("id", "=", project.id).execute();
    }
    await tx.audit({ action: "project.update", resourceType: "project", resourceId: project.project_key, changes }, { now });
    return { ...project, ...set };
  });
}
