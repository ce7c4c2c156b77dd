/**
 * The domain speaks DomainError, the API layer maps it: the task, project and
 * token commands throw DomainError (never the API's ApiError), and the route
 * wrapper answers each code with its documented status and body, the ETag of a
 * version mismatch included. Also: no domain module imports the API or HTTP layer.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AppLoadContext } from "@remix-run/node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { API_CODE_OF, apiErrorOf } from "../../app/lib/api/domain-errors.server";
import { API_ERRORS, ApiError } from "../../app/lib/api/errors.server";
import { expectedVersionOf } from "../../app/lib/api/etag.server";
import { defineApiRoute } from "../../app/lib/api/route.server";
import type { AuditContext } from "../../app/lib/audit/log.server";
import { createOwner } from "../../app/lib/auth/owner.server";
import { DomainError, type DomainErrorCode } from "../../app/lib/domain/errors";
import { createProject, requireProject, updateProject } from "../../app/lib/projects/projects.server";
import {
  createTask,
  deleteTask,
  listTasks,
  requireTask,
  TaskVersionMismatch,
  updateTask,
} from "../../app/lib/tasks/tasks.server";
import { CreateTaskBodySchema, ListTasksQuerySchema, PatchTaskBodySchema } from "../../app/lib/tasks/schemas";
import { createApiToken } from "../../app/lib/tokens/tokens.server";
import { loadConfig } from "~/lib/env.server";
import { createServices, type Services } from "~/lib/services.server";
import { testAuditSigner } from "../support/audit-key";
import { cmd } from "../support/kit";

let dir: string;
let services: Services;
let token: string;
let ownerId: string;
const audit: AuditContext = {
  actor: { type: "cli", id: "cli", label: "test" },
  ip: "local",
  userAgent: "vitest",
  requestId: "r-0",
  signer: testAuditSigner,
};

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "preq-domain-errors-"));
  services = await createServices(
    loadConfig({ DATABASE_PATH: path.join(dir, "t.db"), SESSION_SECRET: "unit-test-session-secret-0123456789abcdef" }),
    {
      logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
    },
  );
  ownerId = (await createOwner(services.db, { email: "owner@example.com", passwordHash: "not-used" })).id;
  token = (await createApiToken(services.db, { ownerId, name: "t", scope: "full", expiresInDays: null, audit })).plaintext;
  await createProject(...cmd(services.db, audit), { name: "Widgets", project_key: "WID" });
});

afterEach(async () => {
  await services.db.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function domainErrorOf(work: Promise<unknown>): Promise<DomainError> {
  const error = await work.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DomainError);
  expect(error).not.toBeInstanceOf(ApiError);
  return error as DomainError;
}

describe("the domain throws DomainError, not ApiError", () => {
  it("for each code, from tasks, projects and tokens", async () => {
    const db = services.db;
    const task = await createTask(...cmd(db, audit), CreateTaskBodySchema.parse({ title: "x" }));
    const seen: [string, DomainErrorCode][] = [];
    const check = async (what: string, work: Promise<unknown>) => seen.push([what, (await domainErrorOf(work)).code]);

    await check("unknown task", requireTask(db, "WID-99"));
    await check("forged cursor", listTasks(db, ListTasksQuerySchema.parse({ cursor: "eyJ2IjoxfQ" })));
    await check(
      "lifecycle rule",
      updateTask(...cmd(db, audit), { task: task.task_key, patch: PatchTaskBodySchema.parse({ lifecycle_action: "review" }) }),
    );
    await check(
      "stale version",
      updateTask(...cmd(db, audit), {
        task: task.task_key,
        patch: PatchTaskBodySchema.parse({ title: "y" }),
        expectedVersion: 7,
      }),
    );
    await check("stale version on delete", deleteTask(...cmd(db, audit), { task: task.task_key, expectedVersion: [] }));
    await check("unknown project", requireProject(db, "NOPE"));
    await check("duplicate project key", createProject(...cmd(db, audit), { name: "Again", project_key: "WID" }));
    await check("bad repo_url", updateProject(...cmd(db, audit), { key: "WID", patch: { repo_url: "not a url at all" } }));
    await check(
      "unknown repository",
      createTask(...cmd(db, audit), CreateTaskBodySchema.parse({ title: "x", repo: "acme/unknown" })),
    );
    await check("token name", createApiToken(db, { ownerId, name: "", scope: "full", expiresInDays: null, audit }));
    await check("token scope", createApiToken(db, { ownerId, name: "ok", scope: "admin" as never, expiresInDays: null, audit }));
    await check("token expiry", createApiToken(db, { ownerId, name: "ok", scope: "full", expiresInDays: 0, audit }));

    expect(seen).toEqual([
      ["unknown task", "NOT_FOUND"],
      ["forged cursor", "VALIDATION_ERROR"],
      ["lifecycle rule", "CONFLICT"],
      ["stale version", "PRECONDITION_FAILED"],
      ["stale version on delete", "PRECONDITION_FAILED"],
      ["unknown project", "NOT_FOUND"],
      ["duplicate project key", "CONFLICT"],
      ["bad repo_url", "VALIDATION_ERROR"],
      ["unknown repository", "NOT_FOUND"],
      ["token name", "VALIDATION_ERROR"],
      ["token scope", "VALIDATION_ERROR"],
      ["token expiry", "VALIDATION_ERROR"],
    ]);
  });

  it("checks in the API's order inside one lookup: not found, then the deferred input, then the version", async () => {
    const task = await createTask(...cmd(services.db, audit), CreateTaskBodySchema.parse({ title: "x" }));
    const badInput = () => {
      throw new ApiError("VALIDATION_ERROR", "Request body failed validation (title: Required)");
    };
    expect(
      (await domainErrorOf(updateTask(...cmd(services.db, audit), { task: "WID-99", patch: badInput, expectedVersion: 9 }))).code,
    ).toBe("NOT_FOUND");
    const inputFirst = await updateTask(...cmd(services.db, audit), {
      task: task.task_key,
      patch: badInput,
      expectedVersion: 9,
    }).catch((e: unknown) => e);
    expect(inputFirst).toBeInstanceOf(ApiError);
    expect(
      (
        await domainErrorOf(
          updateTask(...cmd(services.db, audit), {
            task: task.task_key,
            patch: () => PatchTaskBodySchema.parse({ title: "y" }),
            expectedVersion: 9,
          }),
        )
      ).code,
    ).toBe("PRECONDITION_FAILED");
  });
});

describe("the API maps each domain code to its documented status and body", () => {
  function context(): AppLoadContext {
    return { services, request: { id: "req-1", clientIp: "203.0.113.1", userAgent: "agent", cspNonce: "n" } };
  }

  async function answer(thrown: Error): Promise<Response> {
    const route = defineApiRoute({
      GET: () => {
        throw thrown;
      },
    });
    const request = new Request("http://localhost/api/thing", { headers: { Authorization: `Bearer ${token}` } });
    return (await route.loader({ request, context: context(), params: {} })) as Response;
  }

  it.each<[DomainErrorCode, number]>([
    ["NOT_FOUND", 404],
    ["CONFLICT", 409],
    ["PRECONDITION_FAILED", 412],
    ["VALIDATION_ERROR", 400],
  ])("%s → %i, same message and details, with the auth headers", async (code, status) => {
    expect(API_ERRORS[API_CODE_OF[code]]).toBe(status);
    const details = code === "VALIDATION_ERROR" ? [{ path: "cursor", message: "Invalid cursor" }] : undefined;
    const res = await answer(new DomainError(code, `the ${code} message`, details));
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({
      error: details ? { code, message: `the ${code} message`, details } : { code, message: `the ${code} message` },
    });
    expect(res.headers.get("X-RateLimit-Limit")).toBe("100");
  });

  it("a task version mismatch is the 412 naming and sending the current ETag", async () => {
    const res = await answer(new TaskVersionMismatch("WID-1", 3));
    expect(res.status).toBe(412);
    expect(res.headers.get("ETag")).toBe('"3"');
    expect(await res.json()).toEqual({
      error: { code: "PRECONDITION_FAILED", message: `If-Match does not match the task's current ETag "3"` },
    });
    expect(apiErrorOf(new TaskVersionMismatch("WID-1", 3)).code).toBe("PRECONDITION_FAILED");
  });
});

describe("If-Match as expected versions", () => {
  it("is no precondition when absent or *, else the versions of its strong tags", () => {
    expect(expectedVersionOf(null)).toBeUndefined();
    expect(expectedVersionOf(" * ")).toBeUndefined();
    expect(expectedVersionOf('"3"')).toEqual([3]);
    expect(expectedVersionOf('"3", "9" ,"12"')).toEqual([3, 9, 12]);
    // never match: weak tags, unquoted, leading zeros, zero, signs, beyond a safe integer, a * inside a list
    expect(expectedVersionOf('W/"9", 9, "09", "0", "-1", "+1", "1.0", "99999999999999999", *, ""')).toEqual([]);
    expect(expectedVersionOf("")).toEqual([]);
  });
});

describe("layers", () => {
  it("no module of the task, project, token, paging or list-query domain imports the API or HTTP layer", () => {
    const root = path.resolve(import.meta.dirname, "../../app/lib");
    const files = [
      ...["tasks", "projects", "tokens", "domain"].flatMap((folder) =>
        fs.readdirSync(path.join(root, folder)).map((f) => path.join(folder, f)),
      ),
      "audit/query.server.ts",
      "security/events-query.server.ts",
    ];
    expect(files.length).toBeGreaterThan(10);
    const offenders = files.filter((f) =>
      /from\s+["'](?:\.\.\/(?:api|http)\/|~\/lib\/(?:api|http)\/)/.test(fs.readFileSync(path.join(root, f), "utf8")),
    );
    expect(offenders).toEqual([]);
  });
});
