/**
 * The MCP tools: each one a thin adapter over the domain command its API route
 * calls, with the same zod schemas. A tool's input schema is the JSON Schema of
 * the route's request schema (plus `task_id` for the path's `:id`), its output
 * schema that of the route's response, and its result the JSON the route sends.
 * An ApiError or a DomainError becomes a tool error whose text starts with the
 * error code, as the API would have answered it.
 */
import type { AppLoadContext } from "@remix-run/node";
import { z } from "zod";
import { requireWriteScope, type TokenAuth } from "./guard.server";
import { apiErrorOf } from "./domain-errors.server";
import { ApiError } from "./errors.server";
import { etagOf } from "./etag.server";
import { deferredInput, parseInput } from "./input.server";
import * as S from "./schemas";
import { isStorageUnavailable, type Db } from "../db.server";
import { IDEMPOTENCY_KEY_PATTERN } from "./idempotency.server";
import { requestHash, withIdempotency, type StoredReply } from "../command/idempotency.server";
import type { CommandDeps } from "../command/command.server";
import type { ActorContext } from "../domain/context";
import { jsonSchema } from "./openapi.server";
import { listProjects, projectView } from "../projects/projects.server";
import { DomainError } from "../domain/errors";
import { blockTask, createTask, deleteTask, getTaskView, listTasks, updateTask } from "../tasks/tasks.server";
import { claimNextTask, heartbeatTask, releaseTask } from "../tasks/claims.server";

type Json = Record<string, unknown>;
type Args = Record<string, unknown>;

export const MCP_TOOL_NAMES = [
  "list_projects",
  "list_tasks",
  "get_task",
  "create_task",
  "update_task",
  "plan_task",
  "start_task",
  "complete_task",
  "review_task",
  "block_task",
  "delete_task",
  "preq_claim_next_task",
  "preq_heartbeat_task",
  "preq_release_task",
] as const;
export type McpToolName = (typeof MCP_TOOL_NAMES)[number];

/** What a tool call runs with: the guard's result, the command deps and context (channel `mcp`), the HTTP request. */
export interface ToolContext {
  auth: TokenAuth;
  /** `auth.ctx` with the channel `mcp`: the ctx of every command a tool runs. */
  ctx: ActorContext;
  deps: CommandDeps;
  db: Db;
  request: Request;
  context: AppLoadContext;
}

/** A tool's result: the JSON body the matching API route sends, and whether it is an idempotent replay. */
interface ToolOutput {
  body: Json;
  replayed?: boolean;
}

/**
 * Where a tool's arguments come from in the OpenAPI document: the operation,
 * whether its fields are the request body or the query, the fields the tool
 * fixes itself (a lifecycle tool sets `lifecycle_action`), and the arguments the
 * tool adds (`task_id` for the path's `:id`, `idempotency_key` for the header).
 */
export interface ToolSource {
  operationId: string;
  fields: "body" | "query" | "none";
  fixed: readonly string[];
  added: readonly string[];
  /** API fields the tool takes under another (camelCase) name: API name → tool name. */
  renamed?: Readonly<Record<string, string>>;
  /** API fields the tool does not take (a lifecycle tool other than start takes no lease_seconds). */
  omitted?: readonly string[];
}

interface ToolDefinition {
  name: McpToolName;
  title: string;
  description: string;
  write: boolean;
  destructive: boolean;
  source: ToolSource;
  inputSchema: Json;
  outputSchema: Json;
  run(args: Args, ctx: ToolContext): Promise<ToolOutput>;
}

// ---------------------------------------------------------------- arguments

const TASK_ID_MAX = 100;
const TaskIdSchema = z
  .string()
  .min(1, "Must not be empty")
  .max(TASK_ID_MAX)
  .describe("The task: its key (PROJ-12, any case) or its uuid");
const IdempotencyKeySchema = z
  .string()
  .regex(IDEMPOTENCY_KEY_PATTERN, "Must be 1–255 visible ASCII characters")
  .describe(
    "Makes a retry safe, like the API's Idempotency-Key header: the same key and arguments within 24 h return the first result without creating anything; the same key with other arguments is a CONFLICT",
  );

const IdempotencyArgSchema = z.object({ idempotency_key: IdempotencyKeySchema });
/** Tools that take nothing (beyond task_id) refuse anything else, as the strict API schemas do. */
const NoArguments = z.strictObject({});

/** An object schema's `properties` and `required`, from a zod request schema (io "input", as the API documents it). */
function objectParts(schema: z.ZodType): { properties: Record<string, Json>; required: string[] } {
  const js = jsonSchema(schema, "input") as { properties?: Record<string, Json>; required?: string[] };
  return { properties: js.properties ?? {}, required: js.required ?? [] };
}

function inputSchema(options: {
  taskId?: boolean | "taskId";
  from?: z.ZodType;
  omit?: readonly string[];
  rename?: Readonly<Record<string, string>>;
  extra?: Record<string, Json>;
}): Json {
  const properties: Record<string, Json> = {};
  const required: string[] = [];
  if (options.taskId) {
    const name = options.taskId === "taskId" ? "taskId" : "task_id";
    properties[name] = jsonSchema(TaskIdSchema, "input");
    required.push(name);
  }
  if (options.from) {
    const parts = objectParts(options.from);
    const shown = (name: string) => options.rename?.[name] ?? name;
    for (const [name, schema] of Object.entries(parts.properties)) {
      if (!options.omit?.includes(name)) properties[shown(name)] = schema;
    }
    required.push(...parts.required.filter((name) => !options.omit?.includes(name)).map(shown));
  }
  Object.assign(properties, options.extra ?? {});
  return { type: "object", properties, ...(required.length ? { required } : {}), additionalProperties: false };
}

/** The arguments object (a tool called without arguments has none). */
function argsObject(value: unknown): Args {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Args) : {};
}

/** Splits `task_id` (validated) from the rest of the arguments. */
function taskIdAndRest(args: Args): { taskId: string; rest: Args } {
  const { task_id: raw, ...rest } = args;
  const parsed = TaskIdSchema.safeParse(raw);
  if (!parsed.success) {
    const message = raw === undefined ? "Required" : (parsed.error.issues[0]?.message ?? "Invalid");
    throw new ApiError("VALIDATION_ERROR", `Arguments failed validation (task_id: ${message})`, {
      details: [{ path: "task_id", message }],
    });
  }
  return { taskId: parsed.data, rest };
}

/**
 * A camelCase tool's arguments under their API names (`leaseSeconds` → `lease_seconds`);
 * an API name given directly is refused as the unknown field it is for this tool.
 */
function renameArgs(args: Args, rename: Readonly<Record<string, string>>): Args {
  const out: Args = {};
  const toApi = new Map(Object.entries(rename).map(([api, tool]) => [tool, api]));
  for (const [name, value] of Object.entries(args)) {
    if (Object.hasOwn(rename, name)) {
      throw new ApiError(
        "VALIDATION_ERROR",
        `Arguments failed validation (${name}: Unknown field "${name}"; use ${rename[name]})`,
        {
          details: [{ path: name, message: `Unknown field "${name}"; use ${rename[name]}` }],
        },
      );
    }
    out[toApi.get(name) ?? name] = value;
  }
  return out;
}

/** Splits `taskId` (the coordination tools' camelCase name, validated) from the rest. */
function camelTaskIdAndRest(args: Args): { taskId: string; rest: Args } {
  const { taskId: raw, ...rest } = args;
  const parsed = TaskIdSchema.safeParse(raw);
  if (!parsed.success) {
    const message = raw === undefined ? "Required" : (parsed.error.issues[0]?.message ?? "Invalid");
    throw new ApiError("VALIDATION_ERROR", `Arguments failed validation (taskId: ${message})`, {
      details: [{ path: "taskId", message }],
    });
  }
  return { taskId: parsed.data, rest };
}

/** Refuses arguments a tool sets itself (a lifecycle tool's `lifecycle_action`), as the strict schemas refuse unknown fields. */
function refuseFixed(rest: Args, fixed: readonly string[]): void {
  const given = fixed.filter((name) => Object.hasOwn(rest, name));
  if (given.length === 0) return;
  throw new ApiError("VALIDATION_ERROR", `Arguments failed validation (${given[0]}: Unknown field "${given[0]}")`, {
    details: given.map((name) => ({ path: name, message: `Unknown field "${name}"` })),
  });
}

// ---------------------------------------------------------------- the tools

const TASK_OUTPUT = jsonSchema(S.TaskResponseSchema, "output");
const LIFECYCLE_FIXED = ["status", "lifecycle_action"] as const;
/** `reason` goes with a block only: the other lifecycle tools do not take it. */
const NON_BLOCK_FIXED = [...LIFECYCLE_FIXED, "reason"] as const;
/** `start` takes the lease as `leaseSeconds` (contract §11); the other lifecycle tools take no lease. */
const LEASE_RENAME = { lease_seconds: "leaseSeconds" } as const;

function lifecycleTool(
  name: McpToolName,
  action: z.output<typeof S.LifecycleActionSchema>,
  title: string,
  description: string,
): ToolDefinition {
  const fixed = action === "block" ? LIFECYCLE_FIXED : NON_BLOCK_FIXED;
  const refused = action === "start" ? fixed : [...fixed, "lease_seconds"];
  return {
    name,
    title,
    description: `${description} Other fields (result, branch, engine…) may be changed in the same call. Same as PATCH /api/tasks/{id} with lifecycle_action "${action}".`,
    write: true,
    destructive: false,
    source: {
      operationId: "updateTask",
      fields: "body",
      fixed,
      added: ["task_id"],
      ...(action === "start" ? { renamed: LEASE_RENAME } : { omitted: ["lease_seconds"] }),
    },
    inputSchema: inputSchema({
      taskId: true,
      from: S.PatchTaskBodySchema,
      omit: refused,
      ...(action === "start" ? { rename: LEASE_RENAME } : {}),
    }),
    outputSchema: TASK_OUTPUT,
    async run(args, ctx) {
      const { taskId, rest: given } = taskIdAndRest(args);
      const rest = action === "start" ? renameArgs(given, LEASE_RENAME) : given;
      refuseFixed(rest, refused);
      // Validated now, its error answered once the task is known to exist (one lookup): NOT_FOUND comes first.
      const input = deferredInput(S.PatchTaskBodySchema, { ...rest, lifecycle_action: action }, "Arguments");
      // A block is the domain's one block command, as the owner's page and the API's block are.
      const task =
        action === "block"
          ? await blockTask(ctx.deps, ctx.ctx, { task: taskId, patch: input })
          : await updateTask(ctx.deps, ctx.ctx, { task: taskId, patch: input });
      return { body: { task } };
    },
  };
}

/** The same JSON-with-sorted-keys for the same arguments, whatever order the client wrote them in. */
function canonicalArguments(data: Record<string, unknown>): string {
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(data).sort()) if (data[key] !== undefined) sorted[key] = data[key];
  return JSON.stringify(sorted);
}

const NEXT_RENAME = { project_key: "projectKey", lease_seconds: "leaseSeconds" } as const;
/** `next`'s result: the claimed task, or null where the API answers 204. */
const NextTaskOutputSchema = z.object({ task: S.TaskSchema.nullable() });

async function createTaskResponse(deps: CommandDeps, ctx: ActorContext, input: S.CreateTaskBody): Promise<StoredReply> {
  const task = await createTask(deps, ctx, input);
  return {
    status: 201,
    headers: { Location: `/api/tasks/${task.task_key}`, ETag: etagOf(task.version) },
    body: JSON.stringify({ task }),
  };
}

const TOOLS: readonly ToolDefinition[] = [
  {
    name: "list_projects",
    title: "List projects",
    description: "Every project: key, name, description, repo_url. Same as GET /api/projects.",
    write: false,
    destructive: false,
    source: { operationId: "listProjects", fields: "none", fixed: [], added: [] },
    inputSchema: inputSchema({}),
    outputSchema: jsonSchema(S.ProjectListResponseSchema, "output"),
    async run(args, ctx) {
      parseInput(NoArguments, args, "Arguments");
      const projects = await listProjects(ctx.db);
      return { body: { projects: projects.map(projectView) } };
    },
  },
  {
    name: "list_tasks",
    title: "List tasks",
    description:
      "A page of tasks, newest updated_at first, filtered by the GET /api/tasks query fields; pass next_cursor as cursor for the next page.",
    write: false,
    destructive: false,
    source: { operationId: "listTasks", fields: "query", fixed: [], added: [] },
    inputSchema: inputSchema({ from: S.ListTasksQuerySchema }),
    outputSchema: jsonSchema(S.TaskListResponseSchema, "output"),
    async run(args, ctx) {
      const query = parseInput(S.ListTasksQuerySchema, args, "Arguments");
      return { body: { ...(await listTasks(ctx.db, query)) } };
    },
  },
  {
    name: "get_task",
    title: "Get a task",
    description: "One task by key (PROJ-12) or uuid, every field. Same as GET /api/tasks/{id}.",
    write: false,
    destructive: false,
    source: { operationId: "getTask", fields: "none", fixed: [], added: ["task_id"] },
    inputSchema: inputSchema({ taskId: true }),
    outputSchema: TASK_OUTPUT,
    async run(args, ctx) {
      const { taskId, rest } = taskIdAndRest(args);
      parseInput(NoArguments, rest, "Arguments");
      return { body: { task: await getTaskView(ctx.db, taskId) } };
    },
  },
  {
    name: "create_task",
    title: "Create a task",
    description:
      "A new task in the project given by project_key or repo (or the only project). Same as POST /api/tasks; idempotency_key plays the Idempotency-Key header.",
    write: true,
    destructive: false,
    source: { operationId: "createTask", fields: "body", fixed: [], added: ["idempotency_key"] },
    inputSchema: inputSchema({
      from: S.CreateTaskBodySchema,
      extra: { idempotency_key: jsonSchema(IdempotencyKeySchema, "input") },
    }),
    outputSchema: TASK_OUTPUT,
    async run(args, ctx) {
      const { idempotency_key: rawKey, ...rest } = args;
      const key =
        rawKey === undefined
          ? undefined
          : parseInput(IdempotencyArgSchema, { idempotency_key: rawKey }, "Arguments").idempotency_key;
      const input = parseInput(S.CreateTaskBodySchema, rest, "Arguments");
      if (key === undefined) {
        const stored = await createTaskResponse(ctx.deps, ctx.ctx, input);
        return { body: JSON.parse(stored.body) as Json };
      }
      // The same key and the same (validated) arguments replay; other arguments are a CONFLICT.
      const { reply, replayed } = await withIdempotency(
        ctx.deps,
        { tokenId: ctx.auth.token.id, key, requestHash: requestHash("MCP", "create_task", canonicalArguments(input)) },
        (deps) => createTaskResponse(deps, ctx.ctx, input),
      );
      return { body: JSON.parse(reply.body) as Json, replayed };
    },
  },
  {
    name: "update_task",
    title: "Update a task",
    description:
      "Change a task's fields, its status (clears run_state) or apply a lifecycle_action (plan, start, complete, review, block). Same as PATCH /api/tasks/{id}.",
    write: true,
    destructive: false,
    source: { operationId: "updateTask", fields: "body", fixed: [], added: ["task_id"] },
    inputSchema: inputSchema({ taskId: true, from: S.PatchTaskBodySchema }),
    outputSchema: TASK_OUTPUT,
    async run(args, ctx) {
      const { taskId, rest } = taskIdAndRest(args);
      const input = deferredInput(S.PatchTaskBodySchema, rest, "Arguments");
      return { body: { task: await updateTask(ctx.deps, ctx.ctx, { task: taskId, patch: input }) } };
    },
  },
  lifecycleTool(
    "plan_task",
    "plan",
    "Plan a task",
    "Store the plan (plan_markdown, required, non-empty); an inbox task moves to todo. Not for done or archived tasks.",
  ),
  lifecycleTool(
    "start_task",
    "start",
    "Start a task",
    "Claim the task and mark it as being worked on (run_state working), with a lease of leaseSeconds (10–86400, default 900) that preq_heartbeat_task renews. Refused (CONFLICT) while another agent's lease is live or a blocker is open. From inbox, todo, hold or ready.",
  ),
  lifecycleTool(
    "complete_task",
    "complete",
    "Complete a task",
    "Hand the work in for review: todo or hold → ready. Send the result (summary, tests, pr_url…) with it.",
  ),
  lifecycleTool("review_task", "review", "Review a task", "Accept the reviewed work: ready → done."),
  lifecycleTool(
    "block_task",
    "block",
    "Block a task",
    "Put the task on hold (from inbox, todo, hold or ready), with an optional reason (block_reason, until it leaves hold).",
  ),
  {
    name: "delete_task",
    title: "Delete a task",
    description: "Delete a task for good (its key is never reused). Same as DELETE /api/tasks/{id}.",
    write: true,
    destructive: true,
    source: { operationId: "deleteTask", fields: "none", fixed: [], added: ["task_id"] },
    inputSchema: inputSchema({ taskId: true }),
    outputSchema: jsonSchema(S.OkResponseSchema, "output"),
    async run(args, ctx) {
      const { taskId, rest } = taskIdAndRest(args);
      parseInput(NoArguments, rest, "Arguments");
      await deleteTask(ctx.deps, ctx.ctx, { task: taskId });
      return { body: { ok: true } };
    },
  },
  {
    name: "preq_claim_next_task",
    title: "Claim the next task",
    description:
      "Atomically claim the most urgent ready task (todo, no open blocker, no live lease; priority highest → none, then oldest) for this agent, with a lease of leaseSeconds. task is null when nothing is ready. engine takes tasks for that engine or for none. Same as POST /api/tasks/next.",
    write: true,
    destructive: false,
    source: { operationId: "claimNextTask", fields: "body", fixed: [], added: [], renamed: NEXT_RENAME },
    inputSchema: inputSchema({ from: S.NextTaskBodySchema, rename: NEXT_RENAME }),
    outputSchema: jsonSchema(NextTaskOutputSchema, "output"),
    async run(args, ctx) {
      const input = parseInput(S.NextTaskBodySchema, renameArgs(args, NEXT_RENAME), "Arguments");
      return { body: { task: await claimNextTask(ctx.deps, ctx.ctx, input) } };
    },
  },
  {
    name: "preq_heartbeat_task",
    title: "Renew a task's lease",
    description:
      "Renew this agent's lease on a task it holds for leaseSeconds (default 900) from now. CONFLICT for anyone but the holder, or once the lease ran out. Same as POST /api/tasks/{id}/heartbeat.",
    write: true,
    destructive: false,
    source: { operationId: "heartbeatTask", fields: "body", fixed: [], added: ["taskId"], renamed: LEASE_RENAME },
    inputSchema: inputSchema({ taskId: "taskId", from: S.HeartbeatBodySchema, rename: LEASE_RENAME }),
    outputSchema: TASK_OUTPUT,
    async run(args, ctx) {
      const { taskId, rest } = camelTaskIdAndRest(args);
      const input = deferredInput(S.HeartbeatBodySchema, renameArgs(rest, LEASE_RENAME), "Arguments");
      return { body: { task: await heartbeatTask(ctx.deps, ctx.ctx, { task: taskId, body: input }) } };
    },
  },
  {
    name: "preq_release_task",
    title: "Release a task",
    description:
      "Give up this agent's claim: the task is free again (run_state null) for any agent. CONFLICT for anyone but the holder. Same as POST /api/tasks/{id}/release.",
    write: true,
    destructive: false,
    source: { operationId: "releaseTask", fields: "body", fixed: [], added: ["taskId"] },
    inputSchema: inputSchema({ taskId: "taskId", from: S.ReleaseBodySchema }),
    outputSchema: TASK_OUTPUT,
    async run(args, ctx) {
      const { taskId, rest } = camelTaskIdAndRest(args);
      parseInput(S.ReleaseBodySchema, rest, "Arguments");
      return { body: { task: await releaseTask(ctx.deps, ctx.ctx, { task: taskId }) } };
    },
  },
];

const BY_NAME = new Map<string, ToolDefinition>(TOOLS.map((t) => [t.name, t]));

/** The `tools/list` entry of a tool: what a client sees. */
export interface ListedTool {
  name: string;
  title: string;
  description: string;
  inputSchema: Json;
  outputSchema: Json;
  annotations: {
    title: string;
    readOnlyHint: boolean;
    destructiveHint?: boolean;
    idempotentHint?: boolean;
    openWorldHint: boolean;
  };
}

function listed(t: ToolDefinition): ListedTool {
  return {
    name: t.name,
    title: t.title,
    description: t.description,
    inputSchema: t.inputSchema,
    outputSchema: t.outputSchema,
    annotations: {
      title: t.title,
      readOnlyHint: !t.write,
      ...(t.write ? { destructiveHint: t.destructive } : {}),
      ...(t.write && t.destructive ? { idempotentHint: true } : {}),
      openWorldHint: false,
    },
  };
}

/** Computed once: the tools a `full` token sees, and the read tools a `read` token sees. */
const LISTS = {
  full: { tools: TOOLS.map(listed) },
  read: { tools: TOOLS.filter((t) => !t.write).map(listed) },
};

export function listTools(scope: "full" | "read"): { tools: ListedTool[] } {
  return LISTS[scope];
}

/** How each tool maps onto the API, for the test that holds the tool list and the OpenAPI document together. */
export function toolSources(): Record<McpToolName, ToolSource> {
  return Object.fromEntries(TOOLS.map((t) => [t.name, t.source])) as Record<McpToolName, ToolSource>;
}

export function isKnownTool(name: string): boolean {
  return BY_NAME.has(name);
}

export interface CallToolResult {
  [key: string]: unknown;
  content: { type: "text"; text: string }[];
  structuredContent?: Json;
  isError?: boolean;
  _meta?: Json;
}

/**
 * Runs one tool. Unknown names are the caller's to refuse (a protocol error);
 * everything else answers with a result: the route's JSON, or a tool error
 * (`isError: true`) whose text starts with the error code.
 */
export async function callTool(name: string, rawArgs: unknown, ctx: ToolContext): Promise<CallToolResult> {
  const tool = BY_NAME.get(name);
  if (!tool) throw new Error(`unknown tool ${name}`);
  try {
    if (tool.write) await requireWriteScope(ctx.request, ctx.context, ctx.auth, { tool: tool.name });
    const { body, replayed } = await tool.run(argsObject(rawArgs), ctx);
    return {
      content: [{ type: "text", text: JSON.stringify(body) }],
      structuredContent: body,
      ...(replayed ? { _meta: { "preqstation/idempotent_replayed": true } } : {}),
    };
  } catch (error) {
    return toolError(await errorText(error, ctx));
  }
}

function toolError(text: string): CallToolResult {
  return { content: [{ type: "text", text }], isError: true };
}

/** `CODE: message` (and the validation details, one JSON line), as the API would have answered. */
async function errorText(thrown: unknown, ctx: ToolContext): Promise<string> {
  const error = thrown instanceof DomainError ? apiErrorOf(thrown) : thrown;
  if (error instanceof ApiError) {
    return error.details
      ? `${error.code}: ${error.message}\n${JSON.stringify({ details: error.details })}`
      : `${error.code}: ${error.message}`;
  }
  if (error instanceof Response) {
    // The guard's refusal (FORBIDDEN), in the documented error shape.
    const body = (await error.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    return `${body?.error?.code ?? "FORBIDDEN"}: ${body?.error?.message ?? "Insufficient permissions"}`;
  }
  if (isStorageUnavailable(error)) {
    ctx.context.services.logger.warn("storage unavailable", { requestId: ctx.context.request.id, error });
    return "SERVICE_UNAVAILABLE: Storage is temporarily unavailable; retry later";
  }
  ctx.context.services.logger.error("unhandled MCP tool error", { requestId: ctx.context.request.id, error });
  return `INTERNAL_ERROR: Internal error (request id ${ctx.context.request.id})`;
}
