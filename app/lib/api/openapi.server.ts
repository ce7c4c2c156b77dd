/**
 * The OpenAPI 3.1 document of the JSON API, generated from the zod schemas the
 * routes validate with (`z.toJSONSchema`): request bodies and query parameters
 * as the schemas accept them (io "input"), responses as the routes send them.
 */
import { z } from "zod";
import { API_ERRORS, type ApiErrorCode } from "./errors.server";
import * as S from "./schemas";

type Json = Record<string, unknown>;

const ERROR_RESPONSES: Record<string, { code: ApiErrorCode; description: string; headers?: Json }> = {
  BadRequest: {
    code: "VALIDATION_ERROR",
    description: "INVALID_JSON (the body is not JSON) or VALIDATION_ERROR (error.details names each field)",
  },
  Unauthorized: {
    code: "UNAUTHORIZED",
    description: "Token missing, malformed, unknown, revoked or expired",
    headers: {
      "WWW-Authenticate": {
        schema: { type: "string" },
        description: 'Bearer realm="preqstation" (with error="invalid_token" when a token was presented)',
      },
    },
  },
  Forbidden: {
    code: "FORBIDDEN",
    description: "A read token on a write, or a token of a former owner (message: Insufficient permissions)",
  },
  NotFound: { code: "NOT_FOUND", description: "No such resource" },
  MethodNotAllowed: {
    code: "METHOD_NOT_ALLOWED",
    description: "Method not allowed",
    headers: { Allow: { schema: { type: "string" } } },
  },
  Conflict: {
    code: "CONFLICT",
    description: "Lifecycle rule broken, duplicate key, or Idempotency-Key reused with a different body",
  },
  PreconditionFailed: { code: "PRECONDITION_FAILED", description: "If-Match does not match the task's current ETag" },
  PayloadTooLarge: { code: "PAYLOAD_TOO_LARGE", description: "Body over 1 MiB" },
  UnsupportedMediaType: { code: "UNSUPPORTED_MEDIA_TYPE", description: "The body is not application/json" },
  RateLimited: {
    code: "RATE_LIMITED",
    description: "Over the token's (or, before auth, the client IP's) limit",
    headers: { "Retry-After": { schema: { type: "integer" }, description: "Seconds to wait" } },
  },
  InternalError: { code: "INTERNAL_ERROR", description: "A bug; the message repeats the request id" },
  ServiceUnavailable: {
    code: "SERVICE_UNAVAILABLE",
    description: "Storage temporarily unavailable",
    headers: { "Retry-After": { schema: { type: "integer" } } },
  },
};
type ErrorName = keyof typeof ERROR_RESPONSES;

/**
 * z.toJSONSchema without the per-document keys OpenAPI does not want inline. The
 * MCP tool list (mcp-tools.server.ts) builds its input and output schemas with it too.
 */
export function jsonSchema(schema: z.ZodType, io: "input" | "output"): Json {
  const { $schema: _s, $id: _i, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Json;
  return rest;
}

function registrySchemas(entries: [z.ZodType, string][], io: "input" | "output"): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [schema, id] of entries) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { io, unrepresentable: "any", uri: (id) => `#/components/schemas/${id}` });
  const out: Record<string, Json> = {};
  for (const [id, schema] of Object.entries(schemas)) {
    const { $schema: _s, $id: _i, ...rest } = schema as Json;
    out[id] = rest;
  }
  return out;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errorRef = (name: ErrorName) => ({ $ref: `#/components/responses/${name}` });

const RATE_HEADERS = {
  "X-RateLimit-Limit": { $ref: "#/components/headers/X-RateLimit-Limit" },
  "X-RateLimit-Remaining": { $ref: "#/components/headers/X-RateLimit-Remaining" },
  "X-RateLimit-Reset": { $ref: "#/components/headers/X-RateLimit-Reset" },
  "X-Request-Id": { $ref: "#/components/headers/X-Request-Id" },
};

function ok(description: string, schema: string, extraHeaders: Json = {}): Json {
  return { description, headers: { ...RATE_HEADERS, ...extraHeaders }, content: { "application/json": { schema: ref(schema) } } };
}

const ETAG_HEADER = { ETag: { schema: { type: "string" }, description: 'The task version, "<version>"' } };

interface OperationSpec {
  operationId: string;
  summary: string;
  write?: boolean;
  public?: boolean;
  parameters?: Json[];
  body?: string;
  /** The body may be left out (every field is optional; no body is `{}`). */
  bodyOptional?: boolean;
  responses: Record<string, Json>;
  errors: ErrorName[];
}

const ERROR_STATUS: Record<ErrorName, number> = Object.fromEntries(
  Object.entries(ERROR_RESPONSES).map(([name, e]) => [name, API_ERRORS[e.code]]),
) as Record<ErrorName, number>;

function operation(spec: OperationSpec): Json {
  const errors: ErrorName[] = spec.public
    ? spec.errors
    : ["Unauthorized", "Forbidden", "MethodNotAllowed", "RateLimited", "InternalError", "ServiceUnavailable", ...spec.errors];
  if (spec.body) errors.push("BadRequest", "PayloadTooLarge", "UnsupportedMediaType");
  const responses: Json = { ...spec.responses };
  for (const name of errors) responses[String(ERROR_STATUS[name])] = errorRef(name);
  return {
    operationId: spec.operationId,
    summary: spec.summary,
    ...(spec.public ? { security: [] } : {}),
    ...(spec.write ? { description: "Needs a token with scope full." } : {}),
    ...(spec.parameters ? { parameters: spec.parameters } : {}),
    ...(spec.body
      ? { requestBody: { required: !spec.bodyOptional, content: { "application/json": { schema: ref(spec.body) } } } }
      : {}),
    responses,
  };
}

const pathParam = (name: string, description: string) => ({
  name,
  in: "path",
  required: true,
  description,
  schema: { type: "string" },
});
const TASK_ID = pathParam("id", "A task key (PROJ-12, any case) or a task uuid");
const PROJECT_KEY = pathParam("key", "A project key (any case)");
const COMMENT_ID = pathParam("id", "A comment id (uuid)");
const COMMENT_LOCATION = { Location: { schema: { type: "string" }, description: "/api/task-comments/<id>" } };
const IF_MATCH = {
  name: "If-Match",
  in: "header",
  required: false,
  description: 'The ETag ("<version>") the change is based on; 412 when the task has moved on',
  schema: { type: "string" },
};
const IDEMPOTENCY_KEY = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  description:
    "1–255 visible ASCII characters. The same key and body within 24 h replays the first response; another body is a 409",
  schema: { type: "string", minLength: 1, maxLength: 255 },
};

function queryParameters(schema: z.ZodObject): Json[] {
  return Object.entries(schema.shape).map(([name, field]) => {
    const fieldSchema = jsonSchema(field as z.ZodType, "input");
    const { description, ...rest } = fieldSchema;
    return { name, in: "query", required: false, ...(description ? { description } : {}), schema: rest };
  });
}

/** The whole document. Built on request: the route is rarely hit and nothing is cached in the module. */
export function openApiDocument(version: string): Json {
  const schemas = {
    ...registrySchemas(
      [
        [S.CreateProjectBodySchema, "CreateProjectBody"],
        [S.PatchProjectBodySchema, "PatchProjectBody"],
        [S.SettingsPatchSchema, "SettingsPatch"],
        [S.CreateTaskBodySchema, "CreateTaskBody"],
        [S.PatchTaskBodySchema, "PatchTaskBody"],
        [S.TaskStatusBodySchema, "TaskStatusBody"],
        [S.ClaimBodySchema, "ClaimBody"],
        [S.HeartbeatBodySchema, "HeartbeatBody"],
        [S.ReleaseBodySchema, "ReleaseBody"],
        [S.NextTaskBodySchema, "NextTaskBody"],
        [S.CommentBodySchema, "CommentBody"],
        [S.CommentStateBodySchema, "CommentStateBody"],
      ],
      "input",
    ),
    ...registrySchemas(
      [
        [S.ProjectSchema, "Project"],
        [S.SettingsSchema, "Settings"],
        [S.TaskSchema, "Task"],
        [S.LabelSchema, "Label"],
        [S.TaskResponseSchema, "TaskResponse"],
        [S.TaskListResponseSchema, "TaskListResponse"],
        [S.ProjectResponseSchema, "ProjectResponse"],
        [S.ProjectListResponseSchema, "ProjectListResponse"],
        [S.SettingsResponseSchema, "SettingsResponse"],
        [S.OkResponseSchema, "OkResponse"],
        [S.HealthResponseSchema, "HealthResponse"],
        [S.MeResponseSchema, "MeResponse"],
        [S.CommentSchema, "Comment"],
        [S.CommentResponseSchema, "CommentResponse"],
        [S.CommentListResponseSchema, "CommentListResponse"],
        [S.ActivityItemSchema, "ActivityItem"],
        [S.ActivityResponseSchema, "ActivityResponse"],
        [S.ErrorResponseSchema, "Error"],
      ],
      "output",
    ),
  };

  const responses: Record<string, Json> = {};
  for (const [name, e] of Object.entries(ERROR_RESPONSES)) {
    responses[name] = {
      description: `${API_ERRORS[e.code]} ${e.description}`,
      ...(e.headers ? { headers: e.headers } : {}),
      content: { "application/json": { schema: ref("Error") } },
    };
  }

  return {
    openapi: "3.1.0",
    info: {
      title: "PreqStation API",
      version,
      description:
        "Bearer-authenticated JSON API for AI coding agents. Field names are snake_case; successful responses are plain objects; every error is {error: {code, message, details?}}.",
    },
    servers: [{ url: "/" }],
    security: [{ bearerAuth: [] }],
    paths: {
      "/api/health": {
        get: operation({
          operationId: "getHealth",
          summary: "Liveness and database check (public, not rate-limited)",
          public: true,
          responses: {
            "200": { description: "The service answers", content: { "application/json": { schema: ref("HealthResponse") } } },
            "503": {
              description: "The database cannot be read (ok: false)",
              content: { "application/json": { schema: ref("HealthResponse") } },
            },
          },
          errors: ["MethodNotAllowed"],
        }),
      },
      "/api/openapi.json": {
        get: operation({
          operationId: "getOpenApi",
          summary: "This document (public)",
          public: true,
          responses: {
            "200": { description: "OpenAPI 3.1 document", content: { "application/json": { schema: { type: "object" } } } },
          },
          errors: ["MethodNotAllowed"],
        }),
      },
      "/api/me": {
        get: operation({
          operationId: "getMe",
          summary: "The calling token's name, scope and expiry",
          responses: { "200": ok("The token", "MeResponse") },
          errors: [],
        }),
      },
      "/api/projects": {
        get: operation({
          operationId: "listProjects",
          summary: "Every project",
          responses: { "200": ok("The projects", "ProjectListResponse") },
          errors: [],
        }),
        post: operation({
          operationId: "createProject",
          summary: "Create a project; a missing project_key is derived from the name",
          write: true,
          body: "CreateProjectBody",
          responses: { "201": ok("Created", "ProjectResponse", { Location: { schema: { type: "string" } } }) },
          errors: ["Conflict"],
        }),
      },
      "/api/projects/{key}": {
        get: operation({
          operationId: "getProject",
          summary: "One project",
          parameters: [PROJECT_KEY],
          responses: { "200": ok("The project", "ProjectResponse") },
          errors: ["NotFound"],
        }),
        patch: operation({
          operationId: "updateProject",
          summary: "Change a project's name, description, repo_url or settings (project_key is immutable)",
          write: true,
          parameters: [PROJECT_KEY],
          body: "PatchProjectBody",
          responses: { "200": ok("The project", "ProjectResponse") },
          errors: ["NotFound"],
        }),
      },
      "/api/projects/{key}/settings": {
        get: operation({
          operationId: "getProjectSettings",
          summary: "A project's settings (string values; defaults filled in)",
          parameters: [PROJECT_KEY],
          responses: { "200": ok("The settings", "SettingsResponse") },
          errors: ["NotFound"],
        }),
      },
      "/api/tasks": {
        get: operation({
          operationId: "listTasks",
          summary: "Tasks, newest updated_at first; follow next_cursor to walk every match once",
          parameters: queryParameters(S.ListTasksQuerySchema),
          responses: { "200": ok("A page of tasks", "TaskListResponse") },
          errors: ["BadRequest"],
        }),
        post: operation({
          operationId: "createTask",
          summary: "Create a task in a project given by project_key or repo (or the only project)",
          write: true,
          parameters: [IDEMPOTENCY_KEY],
          body: "CreateTaskBody",
          responses: {
            "201": ok("Created (or the first response replayed for an Idempotency-Key)", "TaskResponse", {
              Location: { schema: { type: "string" }, description: "/api/tasks/<task_key>" },
              ...ETAG_HEADER,
            }),
          },
          errors: ["NotFound", "Conflict"],
        }),
      },
      "/api/tasks/{id}": {
        get: operation({
          operationId: "getTask",
          summary: "One task",
          parameters: [TASK_ID],
          responses: { "200": ok("The task", "TaskResponse", ETAG_HEADER) },
          errors: ["NotFound"],
        }),
        patch: operation({
          operationId: "updateTask",
          summary: "Change fields, the status, or apply a lifecycle_action (plan, start, complete, review, block)",
          write: true,
          parameters: [TASK_ID, IF_MATCH],
          body: "PatchTaskBody",
          responses: { "200": ok("The task", "TaskResponse", ETAG_HEADER) },
          errors: ["NotFound", "Conflict", "PreconditionFailed"],
        }),
        delete: operation({
          operationId: "deleteTask",
          summary: "Delete a task (its key is never reused)",
          write: true,
          parameters: [TASK_ID, IF_MATCH],
          responses: { "200": ok("Deleted", "OkResponse") },
          errors: ["NotFound", "PreconditionFailed"],
        }),
      },
      "/api/tasks/{id}/status": {
        patch: operation({
          operationId: "setTaskStatus",
          summary: "Set the status (and optionally the engine); clears run_state",
          write: true,
          parameters: [TASK_ID, IF_MATCH],
          body: "TaskStatusBody",
          responses: { "200": ok("The task", "TaskResponse", ETAG_HEADER) },
          errors: ["NotFound", "PreconditionFailed"],
        }),
      },
      "/api/tasks/{id}/claim": {
        post: operation({
          operationId: "claimTask",
          summary: "Start the task with a lease for the caller; 409 naming the holder while another's lease is live",
          write: true,
          parameters: [TASK_ID],
          body: "ClaimBody",
          bodyOptional: true,
          responses: { "200": ok("The task, claimed", "TaskResponse", ETAG_HEADER) },
          errors: ["NotFound", "Conflict"],
        }),
      },
      "/api/tasks/{id}/heartbeat": {
        post: operation({
          operationId: "heartbeatTask",
          summary: "Renew the caller's lease; 409 for anyone but the holder",
          write: true,
          parameters: [TASK_ID],
          body: "HeartbeatBody",
          bodyOptional: true,
          responses: { "200": ok("The task, its lease renewed", "TaskResponse", ETAG_HEADER) },
          errors: ["NotFound", "Conflict"],
        }),
      },
      "/api/tasks/{id}/release": {
        post: operation({
          operationId: "releaseTask",
          summary: "Free the task (run_state back to null); 409 for anyone but the holder",
          write: true,
          parameters: [TASK_ID],
          body: "ReleaseBody",
          bodyOptional: true,
          responses: { "200": ok("The task, free", "TaskResponse", ETAG_HEADER) },
          errors: ["NotFound", "Conflict"],
        }),
      },
      "/api/tasks/next": {
        post: operation({
          operationId: "claimNextTask",
          summary: "Claim the most urgent ready task (priority, then oldest) for the caller; 204 when none is ready",
          write: true,
          body: "NextTaskBody",
          bodyOptional: true,
          responses: {
            "200": ok("The task, claimed", "TaskResponse", ETAG_HEADER),
            "204": { description: "No task is ready" },
          },
          errors: [],
        }),
      },
      "/api/tasks/{id}/comments": {
        get: operation({
          operationId: "listTaskComments",
          summary: "The task's comments, oldest first, replies included (parent_id)",
          parameters: [TASK_ID],
          responses: { "200": ok("The comments", "CommentListResponse") },
          errors: ["NotFound"],
        }),
        post: operation({
          operationId: "createTaskComment",
          summary: "Comment on the task (an agent's comment starts with run_state null)",
          write: true,
          parameters: [TASK_ID],
          body: "CommentBody",
          responses: { "201": ok("Created", "CommentResponse", COMMENT_LOCATION) },
          errors: ["NotFound"],
        }),
      },
      "/api/task-comments/{id}": {
        get: operation({
          operationId: "getTaskComment",
          summary: "One comment",
          parameters: [COMMENT_ID],
          responses: { "200": ok("The comment", "CommentResponse") },
          errors: ["NotFound"],
        }),
        patch: operation({
          operationId: "updateTaskCommentState",
          summary:
            "Set the comment's run_state (queued → working → done, or failed with error_message); 409 for a change its state does not allow",
          write: true,
          parameters: [COMMENT_ID],
          body: "CommentStateBody",
          responses: { "200": ok("The comment", "CommentResponse") },
          errors: ["NotFound", "Conflict"],
        }),
      },
      "/api/task-comments/{id}/reply": {
        post: operation({
          operationId: "replyTaskComment",
          summary: "Reply to a top-level comment; 409 for a reply to a reply",
          write: true,
          parameters: [COMMENT_ID],
          body: "CommentBody",
          responses: { "201": ok("The reply", "CommentResponse", COMMENT_LOCATION) },
          errors: ["NotFound", "Conflict"],
        }),
      },
      "/api/activity": {
        get: operation({
          operationId: "listActivity",
          summary:
            "A project's activity (audit entries of its tasks, the project and comments), newest first; follow next_cursor",
          parameters: queryParameters(S.ActivityQueryFieldsSchema),
          responses: { "200": ok("A page of activity", "ActivityResponse") },
          errors: ["BadRequest", "NotFound"],
        }),
      },
    },
    components: {
      securitySchemes: {
        bearerAuth: { type: "http", scheme: "bearer", description: "Authorization: Bearer preq_<32 characters A-Z a-z 0-9>" },
      },
      headers: {
        "X-RateLimit-Limit": { schema: { type: "integer" }, description: "Requests allowed per window" },
        "X-RateLimit-Remaining": { schema: { type: "integer" }, description: "Requests left in the window" },
        "X-RateLimit-Reset": { schema: { type: "integer" }, description: "Unix seconds when the window resets" },
        "X-Request-Id": { schema: { type: "string" }, description: "The request id (quoted by 500 messages)" },
      },
      schemas,
      responses,
    },
  };
}
