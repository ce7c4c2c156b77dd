/**
 * The MCP tools: the preqstation agent skill's `preq_*` surface (api.md "MCP
 * endpoint"), with the skill's names and camelCase argument names. Each tool is a
 * thin adapter: its arguments are renamed to the API's fields, validated with the
 * zod schema the matching API route uses, and handed to the same domain command;
 * its result is the JSON that route sends (declared as its output schema). The
 * few arguments that are no API field (`taskId` for the path's `:id`, the parts
 * of `preq_complete_task`'s result object, …) have schemas of their own here.
 * An ApiError or a DomainError becomes a tool error whose text starts with the
 * error code, as the API would have answered it; validation details name the
 * tool's own argument names.
 */
import type { AppLoadContext } from "@remix-run/node";
import { z } from "zod";
import { requireWriteScope, type TokenAuth } from "./guard.server";
import { apiErrorOf } from "./domain-errors.server";
import { ApiError } from "./errors.server";
import { etagOf } from "./etag.server";
import { validationDetails } from "./input.server";
import * as S from "./schemas";
import { isStorageUnavailable, type Db } from "../db.server";
import { IDEMPOTENCY_KEY_PATTERN } from "./idempotency.server";
import { requestHash, withIdempotency, type StoredReply } from "../command/idempotency.server";
import { jsonSchema } from "./openapi.server";
import { listProjects, projectSettings, projectView, requireProject } from "../projects/projects.server";
import { DomainError } from "../domain/errors";
import { multiLineText, singleLine } from "../domain/text";
import { blockTask, createTask, deleteTask, getTaskView, listTasks, setTaskStatus, updateTask } from "../tasks/tasks.server";
import { claimNextTask, heartbeatTask, releaseTask } from "../tasks/claims.server";
import { agentGuide } from "./agent-guide.server";
import type { CommandDeps } from "../command/command.server";
import type { ActorContext } from "../domain/context";
import { setTaskNote } from "../tasks/note.server";
import { getComment, listComments, replyToComment, setCommentState } from "../comments/comments.server";
import { listActivity } from "../comments/activity.server";

type Json = Record<string, unknown>;
type Args = Record<string, unknown>;

export const MCP_TOOL_NAMES = [
  "preq_agent_guide",
  "preq_list_projects",
  "preq_get_project_settings",
  "preq_list_tasks",
  "preq_get_task",
  "preq_create_task",
  "preq_plan_task",
  "preq_start_task",
  "preq_update_task_note",
  "preq_complete_task",
  "preq_review_task",
  "preq_block_task",
  "preq_update_task_status",
  "preq_delete_task",
  "preq_list_task_comments",
  "preq_get_task_comment",
  "preq_update_task_comment_state",
  "preq_reply_task_comment",
  "preq_list_project_activity",
  "preq_claim_next_task",
  "preq_heartbeat_task",
  "preq_release_task",
] as const;
export type McpToolName = (typeof MCP_TOOL_NAMES)[number];

/**
 * What a tool call runs with: the guard's result, the commands' deps (the services) and ctx
 * (`auth.ctx` with the channel `mcp`: the token as actor), the database for reads, the HTTP request.
 */
export interface ToolContext {
  auth: TokenAuth;
  deps: CommandDeps;
  ctx: ActorContext;
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
 * Where a tool's arguments come from in the OpenAPI document (for the test that holds
 * the two together): the operation, whether its fields are the request body or the
 * query, the API fields the tool takes (API name → the tool's argument name), the
 * fields it sets itself (a lifecycle tool's `lifecycle_action`, a composed `result`),
 * the path parameters its arguments stand for, and its arguments that are no API field.
 */
export interface ToolSource {
  operationId: string;
  fields: "body" | "query" | "none";
  takes: Readonly<Record<string, string>>;
  fixed: readonly string[];
  path: Readonly<Record<string, string>>;
  added: readonly string[];
}

/** An argument that is an API field: its API name (its JSON Schema is the API schema's). */
interface ApiArg {
  api: string;
}
/** An argument of the tool's own: its schema (validated before the API fields). */
interface OwnArg {
  own: z.ZodType;
}
type ArgSpec = ApiArg | OwnArg;

interface ToolInput {
  own: Args;
  fields: Args;
  /** The fields (and `set`) validated with the route's schema; its failure thrown when the result is called. */
  parse<T>(schema: z.ZodType<T>, set?: Args): () => T;
}

interface ToolSpec {
  name: McpToolName;
  title: string;
  description: string;
  write: boolean;
  destructive?: boolean;
  /** The API operation behind the tool; null for the guide, which has none. */
  operation: {
    operationId: string;
    fields: "body" | "query" | "none";
    fixed?: readonly string[];
    path?: Record<string, string>;
  } | null;
  /** The API request schema the API-field arguments are validated with (after renaming). */
  from?: z.ZodType;
  args: Record<string, ArgSpec>;
  required?: readonly string[];
  output: z.ZodType;
  /**
   * `own`: the tool's own arguments, validated; `fields`: the rest under their API names, not yet
   * validated; `parse(schema, set)`: `fields` (plus what the tool sets itself) through the API's schema.
   */
  run(input: ToolInput, call: ToolContext): Promise<ToolOutput>;
}

interface ToolDefinition extends ToolSpec {
  /** API field name → the tool's argument name, to answer validation errors in the tool's names. */
  toTool: ReadonlyMap<string, string>;
  inputSchema: Json;
  outputSchema: Json;
  source: ToolSource | null;
}

// ---------------------------------------------------------------- arguments

const TASK_ID_MAX = 100;
const TaskIdSchema = z
  .string()
  .trim()
  .min(1, "Must not be empty")
  .max(TASK_ID_MAX)
  .describe("The task: its key (PROJ-12, any case) or its uuid");
const CommentIdSchema = z.string().trim().min(1, "Must not be empty").max(TASK_ID_MAX).describe("The comment's id");
/**
 * The engine the skill names itself by on the comment and note tools. Their commands record
 * the actor (the token or OAuth client) and change nothing else, so it is checked, not stored.
 */
const CallerEngineSchema = S.EngineSchema.describe(
  "The engine you run as (claude-code, codex, …); checked, not stored: the token or OAuth client is recorded as the author",
);
const ProjectKeyArgSchema = S.ProjectKeySchema.describe("The project's key, e.g. PROJ");
const IdempotencyKeySchema = z
  .string()
  .regex(IDEMPOTENCY_KEY_PATTERN, "Must be 1–255 visible ASCII characters")
  .describe(
    "Makes a retry safe, like the API's Idempotency-Key header: the same key and arguments within 24 h return the first result without creating anything; the same key with other arguments is a CONFLICT",
  );

const api = (name: string): ApiArg => ({ api: name });
const own = (schema: z.ZodType): OwnArg => ({ own: schema });
const isApiArg = (spec: ArgSpec): spec is ApiArg => "api" in spec;

function validationFailure(details: { path: string; message: string }[]): ApiError {
  const first = details[0];
  const summary = first ? (first.path ? `${first.path}: ${first.message}` : first.message) : "invalid";
  return new ApiError("VALIDATION_ERROR", `Arguments failed validation (${summary})`, { details });
}

/** `labels.0` under its API name → under the tool's argument name (`lease_seconds` → `leaseSeconds`). */
function renamePath(path: string, toTool: ReadonlyMap<string, string>): string {
  const [head = "", ...rest] = path.split(".");
  return [toTool.get(head) ?? head, ...rest].join(".");
}

/**
 * Validates API fields with the route's schema, answering with the tool's argument names.
 * `deferred`: the failure is thrown only when the returned function is called (after the
 * command has looked the task up, so an unknown task is NOT_FOUND whatever the arguments).
 */
function apiInput<T>(schema: z.ZodType<T>, fields: Args, toTool: ReadonlyMap<string, string>): () => T {
  const parsed = schema.safeParse(fields);
  if (parsed.success) return () => parsed.data;
  const error = validationFailure(
    validationDetails(parsed.error).map((d) => ({ path: renamePath(d.path, toTool), message: d.message })),
  );
  return () => {
    throw error;
  };
}

/** The arguments object (a tool called without arguments has none). */
function argsObject(value: unknown): Args {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Args) : {};
}

// ---------------------------------------------------------------- building a tool

function define(spec: ToolSpec): ToolDefinition {
  const properties: Record<string, Json> = {};
  const fromProperties = spec.from
    ? ((jsonSchema(spec.from, "input") as { properties?: Record<string, Json> }).properties ?? {})
    : {};
  for (const [name, arg] of Object.entries(spec.args)) {
    if (isApiArg(arg)) {
      const schema = fromProperties[arg.api];
      if (!schema) throw new Error(`${spec.name}: ${arg.api} is not a field of its API schema`);
      properties[name] = schema;
    } else {
      properties[name] = jsonSchema(arg.own, "input");
    }
  }
  const required = spec.required ?? [];
  const inputSchema: Json = {
    type: "object",
    properties,
    ...(required.length ? { required: [...required] } : {}),
    additionalProperties: false,
  };
  const apiArgs = Object.entries(spec.args).filter((entry): entry is [string, ApiArg] => isApiArg(entry[1]));
  const source: ToolSource | null = spec.operation
    ? {
        operationId: spec.operation.operationId,
        fields: spec.operation.fields,
        takes: Object.fromEntries(apiArgs.map(([name, arg]) => [arg.api, name])),
        fixed: spec.operation.fixed ?? [],
        path: spec.operation.path ?? {},
        added: Object.entries(spec.args)
          .filter(([, arg]) => !isApiArg(arg))
          .map(([name]) => name),
      }
    : null;
  const toTool = new Map(apiArgs.map(([name, arg]) => [arg.api, name]));
  return { ...spec, toTool, inputSchema, outputSchema: jsonSchema(spec.output, "output"), source };
}

/**
 * Splits a call's arguments: the tool's own ones validated now (in the order declared,
 * so `taskId` is checked first), the API fields renamed to their API names. An argument
 * the tool does not declare (an API field under its snake_case name included) is
 * refused by name, as the API's strict schemas refuse unknown fields.
 */
function splitArgs(tool: ToolDefinition, args: Args): ToolInput {
  const unknown = Object.keys(args).filter((name) => !Object.hasOwn(tool.args, name));
  if (unknown.length > 0) {
    throw validationFailure(unknown.map((name) => ({ path: name, message: `Unknown field "${name}"` })));
  }
  const required = tool.required ?? [];
  const own: Args = {};
  const fields: Args = {};
  for (const [name, arg] of Object.entries(tool.args)) {
    const value = args[name];
    if (value === undefined) {
      if (required.includes(name)) throw validationFailure([{ path: name, message: "Required" }]);
      continue;
    }
    if (isApiArg(arg)) {
      fields[arg.api] = value;
      continue;
    }
    const parsed = arg.own.safeParse(value);
    if (!parsed.success) {
      throw validationFailure(
        validationDetails(parsed.error).map((d) => ({ path: d.path ? `${name}.${d.path}` : name, message: d.message })),
      );
    }
    own[name] = parsed.data;
  }
  return { own, fields, parse: (schema, set) => apiInput(schema, { ...fields, ...set }, tool.toTool) };
}

// ---------------------------------------------------------------- result objects

/** `preq_complete_task`'s parts of the result object, kept in it under the API's snake_case names. */
const SummarySchema = resultText(4_000, true).describe("What was done (the result's summary)");
const TestsSchema = resultText(4_000, false).describe("How it was verified, e.g. the test command and its outcome");
const NotesSchema = resultText(8_000, false).describe("Anything the reviewer should know");
const PrUrlSchema = singleLine(z.string().trim().max(S.TASK_LIMITS.artifactUrl))
  .refine(S.isHttpUrl, "Must be an http:// or https:// URL")
  .describe("The pull request's URL");
const BranchNameSchema = S.BranchSchema.describe("The branch the work is on");

function resultText(max: number, required: boolean): z.ZodType<string> {
  const text = multiLineText(max);
  return required ? text.refine((value) => value.trim() !== "", "Must not be empty") : text;
}

/** The block's reason: the API's block_reason rules, and (the skill always gives one) not empty. */
const ReasonSchema = S.BlockReasonSchema.refine((value) => value !== "", "Must not be empty");

const REVIEW_SUMMARY = "review_summary";

// ---------------------------------------------------------------- the tools

const TASK_OUTPUT = S.TaskResponseSchema;
/** `next`'s result: the claimed task, or null where the API answers 204. */
const NextTaskOutputSchema = z.object({ task: S.TaskSchema.nullable() });
/** `preq_list_tasks` with `detail: "simple"`: each task cut down to the fields an agent picks work by. */
const TaskSummarySchema = S.TaskSchema.pick({
  id: true,
  task_key: true,
  project_key: true,
  title: true,
  status: true,
  priority: true,
  labels: true,
  engine: true,
  branch: true,
  run_state: true,
  claimed_by: true,
  blocked_by: true,
  repo: true,
  updated_at: true,
})
  .strict()
  .describe("A task in brief (detail simple)");
const TASK_SUMMARY_FIELDS = Object.keys(TaskSummarySchema.shape) as (keyof S.TaskView)[];
const TaskListOutputSchema = S.TaskListResponseSchema.extend({
  tasks: z.array(z.union([S.TaskSchema, TaskSummarySchema])),
});
const DetailSchema = z
  .enum(["simple", "full"])
  .describe("full (default): every field of each task, as GET /api/tasks; simple: the fields to pick work by");
const GuideOutputSchema = z.object({ guide: z.string().describe("The workflow, in Markdown") });

async function createTaskResponse(deps: CommandDeps, ctx: ActorContext, input: S.CreateTaskBody): Promise<StoredReply> {
  const task = await createTask(deps, ctx, input);
  return {
    status: 201,
    headers: { Location: `/api/tasks/${task.task_key}`, ETag: etagOf(task.version) },
    body: JSON.stringify({ task }),
  };
}

/** The same JSON-with-sorted-keys for the same arguments, whatever order the client wrote them in. */
function canonicalArguments(data: Record<string, unknown>): string {
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(data).sort()) if (data[key] !== undefined) sorted[key] = data[key];
  return JSON.stringify(sorted);
}

/**
 * A PATCH /api/tasks/{id} with a lifecycle action (plus `set`, what the tool composes itself),
 * through the route's schema and the domain's one command for it.
 */
function patchLifecycle(
  input: ToolInput,
  action: z.output<typeof S.LifecycleActionSchema>,
  call: ToolContext,
  options: { set?: Args; expectedVersion?: number } = {},
) {
  const change = {
    task: input.own.taskId as string,
    patch: input.parse(S.PatchTaskBodySchema, { ...options.set, lifecycle_action: action }),
    expectedVersion: options.expectedVersion,
  };
  return action === "block" ? blockTask(call.deps, call.ctx, change) : updateTask(call.deps, call.ctx, change);
}

const TOOLS: readonly ToolDefinition[] = [
  define({
    name: "preq_agent_guide",
    title: "Agent guide",
    description:
      "A short Markdown guide to working tasks here: list → plan → start (or claim next) → note → complete, block or review, and answering the owner's comments. Read it first.",
    write: false,
    operation: null,
    args: { engine: own(S.EngineSchema) },
    output: GuideOutputSchema,
    async run({ own }) {
      return { body: { guide: agentGuide(own.engine as string | undefined) } };
    },
  }),
  define({
    name: "preq_list_projects",
    title: "List projects",
    description: "Every project: key, name, description, repo_url. Same as GET /api/projects.",
    write: false,
    operation: { operationId: "listProjects", fields: "none" },
    args: {},
    output: S.ProjectListResponseSchema,
    async run(_input, call) {
      const projects = await listProjects(call.db);
      return { body: { projects: projects.map(projectView) } };
    },
  }),
  define({
    name: "preq_get_project_settings",
    title: "Get a project's settings",
    description:
      "The project's deploy settings (deploy_strategy, deploy_default_branch, deploy_auto_pr, deploy_commit_on_review, deploy_squash_merge; string values, defaults filled in). Same as GET /api/projects/{key}/settings.",
    write: false,
    operation: { operationId: "getProjectSettings", fields: "none", path: { key: "projectKey" } },
    args: { projectKey: own(ProjectKeyArgSchema) },
    required: ["projectKey"],
    output: S.SettingsResponseSchema,
    async run({ own }, call) {
      const project = await requireProject(call.db, own.projectKey as string);
      return { body: { settings: projectSettings(project) } };
    },
  }),
  define({
    name: "preq_list_tasks",
    title: "List tasks",
    description:
      "A page of tasks, newest updated_at first, filtered by status, label, projectKey, engine, runState (queued, working); pass next_cursor as cursor for the next page. Same as GET /api/tasks; detail simple cuts each task to the fields to pick work by.",
    write: false,
    operation: { operationId: "listTasks", fields: "query" },
    from: S.ListTasksQuerySchema,
    args: {
      status: api("status"),
      label: api("label"),
      projectKey: api("project_key"),
      engine: api("engine"),
      runState: api("run_state"),
      limit: api("limit"),
      detail: own(DetailSchema),
      cursor: api("cursor"),
    },
    output: TaskListOutputSchema,
    async run({ own, parse }, call) {
      const query = parse(S.ListTasksQuerySchema)();
      const page = await listTasks(call.db, query);
      if (own.detail !== "simple") return { body: { ...page } };
      const tasks = page.tasks.map((task) => Object.fromEntries(TASK_SUMMARY_FIELDS.map((f) => [f, task[f]])));
      return { body: { ...page, tasks } };
    },
  }),
  define({
    name: "preq_get_task",
    title: "Get a task",
    description: "One task by key (PROJ-12) or uuid, every field. Same as GET /api/tasks/{id}.",
    write: false,
    operation: { operationId: "getTask", fields: "none", path: { id: "taskId" } },
    args: { taskId: own(TaskIdSchema) },
    required: ["taskId"],
    output: TASK_OUTPUT,
    async run({ own }, call) {
      return { body: { task: await getTaskView(call.db, own.taskId as string) } };
    },
  }),
  define({
    name: "preq_create_task",
    title: "Create a task",
    description:
      "A new task in the inbox of the project whose repository repo is (a GitHub URL in any form, or owner/repo). Same as POST /api/tasks; idempotencyKey plays the Idempotency-Key header.",
    write: true,
    operation: { operationId: "createTask", fields: "body" },
    from: S.CreateTaskBodySchema,
    args: {
      title: api("title"),
      repo: api("repo"),
      description: api("description"),
      priority: api("priority"),
      labels: api("labels"),
      acceptanceCriteria: api("acceptance_criteria"),
      branch: api("branch"),
      engine: api("engine"),
      idempotencyKey: own(IdempotencyKeySchema),
    },
    required: ["title", "repo"],
    output: TASK_OUTPUT,
    async run({ own, parse }, call) {
      const input = parse(S.CreateTaskBodySchema)();
      const key = own.idempotencyKey as string | undefined;
      if (key === undefined) {
        const stored = await createTaskResponse(call.deps, call.ctx, input);
        return { body: JSON.parse(stored.body) as Json };
      }
      // The same key and the same (validated) arguments replay; other arguments are a CONFLICT.
      const { reply, replayed } = await withIdempotency(
        call.deps,
        {
          tokenId: call.auth.token.id,
          key,
          requestHash: requestHash("MCP", "preq_create_task", canonicalArguments(input)),
        },
        (deps) => createTaskResponse(deps, call.ctx, input),
      );
      return { body: JSON.parse(reply.body) as Json, replayed };
    },
  }),
  define({
    name: "preq_plan_task",
    title: "Plan a task",
    description:
      "Store the plan (planMarkdown, non-empty) and optionally acceptance criteria, priority, labels, engine; an inbox task moves to todo. Not for done or archived tasks. projectKey must be the task's project. Same as PATCH /api/tasks/{id} with lifecycle_action plan.",
    write: true,
    operation: { operationId: "updateTask", fields: "body", fixed: ["lifecycle_action"], path: { id: "taskId" } },
    from: S.PatchTaskBodySchema,
    args: {
      projectKey: own(ProjectKeyArgSchema),
      taskId: own(TaskIdSchema),
      planMarkdown: api("planMarkdown"),
      acceptanceCriteria: api("acceptance_criteria"),
      priority: api("priority"),
      labels: api("labels"),
      engine: api("engine"),
    },
    required: ["projectKey", "taskId", "planMarkdown"],
    output: TASK_OUTPUT,
    async run(input, call) {
      const { own } = input;
      const taskId = own.taskId as string;
      // The skill names the project with the task: a task of another project is refused, not planned.
      const { project_key: actual, task_key: key } = await getTaskView(call.db, taskId);
      if (actual !== own.projectKey) {
        throw validationFailure([
          { path: "projectKey", message: `Task ${key} is in project ${actual}, not ${String(own.projectKey)}` },
        ]);
      }
      const task = await patchLifecycle(input, "plan", call);
      return { body: { task } };
    },
  }),
  define({
    name: "preq_start_task",
    title: "Start a task",
    description:
      "Claim the task and mark it as being worked on (run_state working), with a lease of leaseSeconds (10–86400, default 900) that preq_heartbeat_task renews. Refused (CONFLICT) while another agent's lease is live or a blocker is open. From inbox, todo, hold or ready. Same as PATCH /api/tasks/{id} with lifecycle_action start.",
    write: true,
    operation: { operationId: "updateTask", fields: "body", fixed: ["lifecycle_action"], path: { id: "taskId" } },
    from: S.PatchTaskBodySchema,
    args: { taskId: own(TaskIdSchema), engine: api("engine"), leaseSeconds: api("lease_seconds") },
    required: ["taskId"],
    output: TASK_OUTPUT,
    async run(input, call) {
      return { body: { task: await patchLifecycle(input, "start", call) } };
    },
  }),
  define({
    name: "preq_update_task_note",
    title: "Update a task's note",
    description:
      'Set the agent\'s working note (noteMarkdown, Markdown; "" clears it) and optionally its artifacts ([{type, title, url}], http(s) URLs, replaces the list). Never changes the status, run state or claim. Same as PATCH /api/tasks/{id} with note_markdown and artifacts (audit task.note).',
    write: true,
    operation: { operationId: "updateTask", fields: "body", path: { id: "taskId" } },
    from: S.PatchTaskBodySchema,
    args: {
      taskId: own(TaskIdSchema),
      noteMarkdown: api("note_markdown"),
      artifacts: api("artifacts"),
      engine: own(CallerEngineSchema),
    },
    required: ["taskId", "noteMarkdown"],
    output: TASK_OUTPUT,
    async run({ own, parse }, call) {
      const task = await setTaskNote(call.deps, call.ctx, {
        taskId: own.taskId as string,
        note: parse(S.TaskNoteBodySchema),
      });
      return { body: { task } };
    },
  }),
  define({
    name: "preq_complete_task",
    title: "Complete a task",
    description:
      "Hand the work in for review (todo or hold → ready; ends the claim) with its result: the task's result object becomes {summary, tests, pr_url, notes, branch_name, artifacts} from the arguments given. Same as PATCH /api/tasks/{id} with lifecycle_action complete and that result.",
    write: true,
    operation: {
      operationId: "updateTask",
      fields: "body",
      fixed: ["lifecycle_action", "result"],
      path: { id: "taskId" },
    },
    from: S.PatchTaskBodySchema,
    args: {
      taskId: own(TaskIdSchema),
      summary: own(SummarySchema),
      tests: own(TestsSchema),
      prUrl: own(PrUrlSchema),
      notes: own(NotesSchema),
      branchName: own(BranchNameSchema),
      artifacts: own(S.ArtifactListSchema.describe("Links the work produced: [{type, title, url}], kept in the result")),
      engine: api("engine"),
    },
    required: ["taskId", "summary"],
    output: TASK_OUTPUT,
    async run(input, call) {
      const { own } = input;
      const result: Json = { summary: own.summary };
      if (own.tests !== undefined) result.tests = own.tests;
      if (own.prUrl !== undefined) result.pr_url = own.prUrl;
      if (own.notes !== undefined) result.notes = own.notes;
      if (own.branchName !== undefined) result.branch_name = own.branchName;
      if (own.artifacts !== undefined) result.artifacts = own.artifacts;
      return { body: { task: await patchLifecycle(input, "complete", call, { set: { result } }) } };
    },
  }),
  define({
    name: "preq_review_task",
    title: "Review a task",
    description: `Accept the reviewed work: ready → done. A summary is added to the task's result object as ${REVIEW_SUMMARY} (the completion's fields stay). Same as PATCH /api/tasks/{id} with lifecycle_action review.`,
    write: true,
    operation: { operationId: "updateTask", fields: "body", fixed: ["lifecycle_action", "result"], path: { id: "taskId" } },
    from: S.PatchTaskBodySchema,
    args: { taskId: own(TaskIdSchema), summary: own(SummarySchema), engine: api("engine") },
    required: ["taskId"],
    output: TASK_OUTPUT,
    async run(input, call) {
      if (input.own.summary === undefined) return { body: { task: await patchLifecycle(input, "review", call) } };
      // The summary joins the result the completion left; the write is guarded by the version that
      // result was read at, so a change in between is a PRECONDITION_FAILED, never a lost update.
      const current = await getTaskView(call.db, input.own.taskId as string);
      const result = { ...current.result, [REVIEW_SUMMARY]: input.own.summary };
      const task = await patchLifecycle(input, "review", call, { set: { result }, expectedVersion: current.version });
      return { body: { task } };
    },
  }),
  define({
    name: "preq_block_task",
    title: "Block a task",
    description:
      "Put the task on hold (from inbox, todo, hold or ready; ends the claim) with the reason (required), stored as block_reason until it leaves hold. Same as PATCH /api/tasks/{id} with lifecycle_action block and that reason.",
    write: true,
    operation: {
      operationId: "updateTask",
      fields: "body",
      fixed: ["lifecycle_action", "reason"],
      path: { id: "taskId" },
    },
    from: S.PatchTaskBodySchema,
    args: { taskId: own(TaskIdSchema), reason: own(ReasonSchema), engine: api("engine") },
    required: ["taskId", "reason"],
    output: TASK_OUTPUT,
    async run(input, call) {
      return { body: { task: await patchLifecycle(input, "block", call, { set: { reason: input.own.reason } }) } };
    },
  }),
  define({
    name: "preq_update_task_status",
    title: "Set a task's status",
    description:
      "A plain status change (inbox, todo, hold, ready, done, archived), optionally with the engine; clears run_state and ends the claim. Same as PATCH /api/tasks/{id}/status.",
    write: true,
    operation: { operationId: "setTaskStatus", fields: "body", path: { id: "taskId" } },
    from: S.TaskStatusBodySchema,
    args: { taskId: own(TaskIdSchema), status: api("status"), engine: api("engine") },
    required: ["taskId", "status"],
    output: TASK_OUTPUT,
    async run({ own, parse }, call) {
      const input = parse(S.TaskStatusBodySchema);
      return { body: { task: await setTaskStatus(call.deps, call.ctx, { task: own.taskId as string, patch: input }) } };
    },
  }),
  define({
    name: "preq_delete_task",
    title: "Delete a task",
    description: "Delete a task for good (its key is never reused). Same as DELETE /api/tasks/{id}.",
    write: true,
    destructive: true,
    operation: { operationId: "deleteTask", fields: "none", path: { id: "taskId" } },
    args: { taskId: own(TaskIdSchema) },
    required: ["taskId"],
    output: S.OkResponseSchema,
    async run({ own }, call) {
      await deleteTask(call.deps, call.ctx, { task: own.taskId as string });
      return { body: { ok: true } };
    },
  }),
  define({
    name: "preq_list_task_comments",
    title: "List a task's comments",
    description:
      "The task's comments, oldest first, replies included (parent_id); an owner's comment waiting for an answer has run_state queued. Same as GET /api/tasks/{id}/comments.",
    write: false,
    operation: { operationId: "listTaskComments", fields: "none", path: { id: "taskId" } },
    args: { taskId: own(TaskIdSchema) },
    required: ["taskId"],
    output: S.CommentListResponseSchema,
    async run({ own }, call) {
      return { body: { comments: await listComments(call.db, own.taskId as string) } };
    },
  }),
  define({
    name: "preq_get_task_comment",
    title: "Get a comment",
    description: "One comment by id. Same as GET /api/task-comments/{id}.",
    write: false,
    operation: { operationId: "getTaskComment", fields: "none", path: { id: "commentId" } },
    args: { commentId: own(CommentIdSchema) },
    required: ["commentId"],
    output: S.CommentResponseSchema,
    async run({ own }, call) {
      return { body: { comment: await getComment(call.db, own.commentId as string) } };
    },
  }),
  define({
    name: "preq_update_task_comment_state",
    title: "Set a comment's state",
    description:
      "Mark an owner's comment working when you take it up, then done (or failed with errorMessage); queued hands it back. Same as PATCH /api/task-comments/{id}.",
    write: true,
    operation: { operationId: "updateTaskCommentState", fields: "body", path: { id: "commentId" } },
    from: S.CommentStateBodySchema,
    args: {
      commentId: own(CommentIdSchema),
      runState: api("run_state"),
      errorMessage: api("error_message"),
      engine: own(CallerEngineSchema),
    },
    required: ["commentId", "runState"],
    output: S.CommentResponseSchema,
    async run({ own, parse }, call) {
      const comment = await setCommentState(call.deps, call.ctx, {
        commentId: own.commentId as string,
        state: parse(S.CommentStateBodySchema),
      });
      return { body: { comment } };
    },
  }),
  define({
    name: "preq_reply_task_comment",
    title: "Reply to a comment",
    description:
      "Answer a comment (Markdown body); the reply sits under it with this token or OAuth client as its author. Replies are one level deep: reply to the comment, not to a reply. noteUpdated says the task's note was updated too (it is not stored). Same as POST /api/task-comments/{id}/reply.",
    write: true,
    operation: { operationId: "replyTaskComment", fields: "body", path: { id: "commentId" } },
    from: S.CommentBodySchema,
    args: {
      commentId: own(CommentIdSchema),
      body: api("body"),
      noteUpdated: own(z.boolean().describe("Whether you also updated the task's note (informational; not stored)")),
      engine: own(CallerEngineSchema),
    },
    required: ["commentId", "body"],
    output: S.CommentResponseSchema,
    async run({ own, parse }, call) {
      const comment = await replyToComment(call.deps, call.ctx, {
        commentId: own.commentId as string,
        body: parse(S.CommentBodySchema),
      });
      return { body: { comment } };
    },
  }),
  define({
    name: "preq_list_project_activity",
    title: "List project activity",
    description:
      "What happened between from and to (ISO 8601): the audit trail of the projects' tasks, the projects and their comments, newest first, each {at, action, actor, task_key, summary}; projectKeys narrows it (default every project); pass next_cursor as cursor for the next page. Same as GET /api/activity.",
    write: false,
    operation: { operationId: "listActivity", fields: "query", fixed: ["project_key"] },
    from: S.ActivityQuerySchema,
    args: {
      from: api("from"),
      to: api("to"),
      projectKeys: own(
        z
          .array(S.ProjectKeySchema)
          .min(1)
          .max(S.COMMENT_LIMITS.projectKeys)
          .describe("The projects (keys); default every project"),
      ),
      limit: api("limit"),
      cursor: api("cursor"),
    },
    required: ["from", "to"],
    output: S.ActivityResponseSchema,
    async run({ own, parse }, call) {
      const keys = own.projectKeys as string[] | undefined;
      const query = parse(S.ActivityQuerySchema, keys ? { project_key: keys.join(",") } : {})();
      return { body: { ...(await listActivity(call.db, query)) } };
    },
  }),
  define({
    name: "preq_claim_next_task",
    title: "Claim the next task",
    description:
      "Atomically claim the most urgent ready task (todo, no open blocker, no live lease; priority highest → none, then oldest) for this agent, with a lease of leaseSeconds. task is null when nothing is ready. engine takes tasks for that engine or for none. Same as POST /api/tasks/next.",
    write: true,
    operation: { operationId: "claimNextTask", fields: "body" },
    from: S.NextTaskBodySchema,
    args: {
      projectKey: api("project_key"),
      label: api("label"),
      engine: api("engine"),
      leaseSeconds: api("lease_seconds"),
    },
    output: NextTaskOutputSchema,
    async run({ parse }, call) {
      const input = parse(S.NextTaskBodySchema)();
      return { body: { task: await claimNextTask(call.deps, call.ctx, input) } };
    },
  }),
  define({
    name: "preq_heartbeat_task",
    title: "Renew a task's lease",
    description:
      "Renew this agent's lease on a task it holds for leaseSeconds (default 900) from now. CONFLICT for anyone but the holder, or once the lease ran out. Same as POST /api/tasks/{id}/heartbeat.",
    write: true,
    operation: { operationId: "heartbeatTask", fields: "body", path: { id: "taskId" } },
    from: S.HeartbeatBodySchema,
    args: { taskId: own(TaskIdSchema), leaseSeconds: api("lease_seconds") },
    required: ["taskId"],
    output: TASK_OUTPUT,
    async run({ own, parse }, call) {
      const input = parse(S.HeartbeatBodySchema);
      return { body: { task: await heartbeatTask(call.deps, call.ctx, { task: own.taskId as string, body: input }) } };
    },
  }),
  define({
    name: "preq_release_task",
    title: "Release a task",
    description:
      "Give up this agent's claim: the task is free again (run_state null) for any agent. CONFLICT for anyone but the holder. Same as POST /api/tasks/{id}/release.",
    write: true,
    operation: { operationId: "releaseTask", fields: "body", path: { id: "taskId" } },
    from: S.ReleaseBodySchema,
    args: { taskId: own(TaskIdSchema) },
    required: ["taskId"],
    output: TASK_OUTPUT,
    async run({ own }, call) {
      return { body: { task: await releaseTask(call.deps, call.ctx, { task: own.taskId as string }) } };
    },
  }),
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
  const destructive = t.destructive ?? false;
  return {
    name: t.name,
    title: t.title,
    description: t.description,
    inputSchema: t.inputSchema,
    outputSchema: t.outputSchema,
    annotations: {
      title: t.title,
      readOnlyHint: !t.write,
      ...(t.write ? { destructiveHint: destructive } : {}),
      ...(t.write && destructive ? { idempotentHint: true } : {}),
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

/** How each tool maps onto the API (null: the guide, which has no route), for the test that holds the two together. */
export function toolSources(): Record<McpToolName, ToolSource | null> {
  return Object.fromEntries(TOOLS.map((t) => [t.name, t.source])) as Record<McpToolName, ToolSource | null>;
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
export async function callTool(name: string, rawArgs: unknown, call: ToolContext): Promise<CallToolResult> {
  const tool = BY_NAME.get(name);
  if (!tool) throw new Error(`unknown tool ${name}`);
  try {
    if (tool.write) await requireWriteScope(call.request, call.context, call.auth, { tool: tool.name });
    const { body, replayed } = await tool.run(splitArgs(tool, argsObject(rawArgs)), call);
    return {
      content: [{ type: "text", text: JSON.stringify(body) }],
      structuredContent: body,
      ...(replayed ? { _meta: { "preqstation/idempotent_replayed": true } } : {}),
    };
  } catch (error) {
    return toolError(await errorText(error, call));
  }
}

function toolError(text: string): CallToolResult {
  return { content: [{ type: "text", text }], isError: true };
}

/** `CODE: message` (and the validation details, one JSON line), as the API would have answered. */
async function errorText(thrown: unknown, call: ToolContext): Promise<string> {
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
    call.context.services.logger.warn("storage unavailable", { requestId: call.context.request.id, error });
    return "SERVICE_UNAVAILABLE: Storage is temporarily unavailable; retry later";
  }
  call.context.services.logger.error("unhandled MCP tool error", { requestId: call.context.request.id, error });
  return `INTERNAL_ERROR: Internal error (request id ${call.context.request.id})`;
}
