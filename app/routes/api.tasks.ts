import { apiJson } from "~/lib/api/errors.server";
import { parseInput, queryObject, readJsonBody } from "~/lib/api/input.server";
import { defineApiRoute } from "~/lib/api/route.server";
import { CreateTaskBodySchema, ListTasksQuerySchema } from "~/lib/api/schemas";
import { parseIdempotencyKey, requestHash, withIdempotency, type StoredResponse } from "~/lib/api/idempotency.server";
import { etagOf } from "~/lib/api/etag.server";
import { createTask, listTasks } from "~/lib/tasks/tasks.server";
import type { Db } from "~/lib/db.server";
import type { AuditContext } from "~/lib/audit/log.server";

/** GET: a filtered page of tasks. POST (full scope): a new task, safe to retry with Idempotency-Key. */
const route = defineApiRoute({
  GET: async ({ request, context }) => {
    const query = parseInput(ListTasksQuerySchema, queryObject(new URL(request.url)), "Query");
    return apiJson(await listTasks(context.services.db, query));
  },
  POST: async ({ request, context, auth }) => {
    const key = parseIdempotencyKey(request);
    const { value, text } = await readJsonBody(request);
    const db = context.services.db;
    if (key === null) return toResponse(await create(db, auth.audit, value), false);
    const { response, replayed } = await withIdempotency(
      db,
      { tokenId: auth.token.id, key, requestHash: requestHash("POST", "/api/tasks", text) },
      (trx) => create(trx, auth.audit, value),
    );
    return toResponse(response, replayed);
  },
});

async function create(db: Db, audit: AuditContext, body: unknown): Promise<StoredResponse> {
  const task = await createTask(db, audit, parseInput(CreateTaskBodySchema, body));
  return {
    status: 201,
    headers: { Location: `/api/tasks/${task.task_key}`, ETag: etagOf(task.version) },
    body: JSON.stringify({ task }),
  };
}

function toResponse(stored: StoredResponse, replayed: boolean): Response {
  const headers = new Headers(stored.headers);
  headers.set("Content-Type", "application/json; charset=utf-8");
  headers.set("Cache-Control", "no-store");
  if (replayed) headers.set("Idempotent-Replayed", "true");
  return new Response(stored.body, { status: stored.status, headers });
}

export const loader = route.loader;
export const action = route.action;
