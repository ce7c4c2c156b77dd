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

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errorRef = (name: ErrorName) => ({ $ref: `#/components/responses/${name}` });

const RATE_HEADERS = {
  "X-RateLimit-Limit": { $ref: "#/components/headers/X-RateLimit-Limit" },
  "X-RateLimit-Remaining": { $ref: "#/components/headers/X-RateLimit-Remaining" },
  "X-RateLimit-Reset": { $ref: "#/components/headers/X-RateLimit-Reset" },
  "X-Request-Id": { $ref: "#/components/headers/X-Request-Id" },
};

export function ok(description: string, schema: string, extraHeaders: Json = {}): Json {
  return { description, headers: { ...RATE_HEADERS, ...extraHeaders }, content: { "application/json": { schema: ref(schema) } } };
}

export const ETAG_HEADER = { ETag: { schema: { type: "string" }, description: 'The task version, "<version>"' } };

export interface OperationSpec {
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
export const TASK_ID = pathParam("id", "A task key (PROJ-12, any case) or a task uuid");
export const PROJECT_KEY = pathParam("key", "A project key (any case)");
export const COMMENT_ID = pathParam("id", "A comment id (uuid)");
export const COMMENT_LOCATION = { Location: { schema: { type: "string" }, description: "/api/task-comments/<id>" } };
export const IF_MATCH = {
  name: "If-Match",
  in: "header",
  required: false,
  description: 'The ETag ("<version>") the change is based on; 412 when the task has moved on',
  schema: { type: "string" },
};
export const IDEMPOTENCY_KEY = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  description:
    "1–255 visible ASCII characters. The same key and body within 24 h replays the first response; another body is a 409",
  schema: { type: "string", minLength: 1, maxLength: 255 },
};

export function queryParameters(schema: z.ZodObject): Json[] {
  return Object.entries(schema.shape).map(([name, field]) => {
    const fieldSchema = jsonSchema(field as z.ZodType, "input");
    const { description, ...rest } = fieldSchema;
    return { name, in: "query", required: false, ...(description ? { description } : {}), schema: rest };
  });
}

/** The HTTP methods an API route may document, in the order the document lists them. */
export const DOCUMENTED_METHODS = ["get", "post", "put", "patch", "delete"] as const;
export type DocumentedMethod = (typeof DOCUMENTED_METHODS)[number];

/**
 * What one API route module says about itself (its `loader.openapi`, written next to
 * its handlers by `defineApiRoute`, or by `describeRoute` for the public routes): its
 * path in OpenAPI form and one operation per method.
 */
export interface ApiRouteDoc {
  path: string;
  operations: Partial<Record<DocumentedMethod, OperationSpec>>;
}

/**
 * Attaches a route's OpenAPI description to its `loader`, so the document can be
 * generated from the route modules themselves (describeApi reads `loader.openapi`).
 * On the loader, not a `handle` export: Remix strips loaders from the browser bundle.
 */
export function describedLoader<F extends (...args: never[]) => unknown>(
  path: string,
  operations: ApiRouteDoc["operations"],
  loader: F,
): F & { openapi: ApiRouteDoc } {
  return Object.assign(loader, { openapi: { path, operations } });
}

/** The `paths` object: one entry per route, in path order, its operations in method order. */
function pathsOf(routes: readonly ApiRouteDoc[]): Record<string, Json> {
  const paths: Record<string, Json> = {};
  for (const route of [...routes].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    if (paths[route.path]) throw new Error(`OpenAPI: two routes describe ${route.path}`);
    const entry: Json = {};
    for (const method of DOCUMENTED_METHODS) {
      const spec = route.operations[method];
      if (spec) entry[method] = operation(spec);
    }
    paths[route.path] = entry;
  }
  return paths;
}

/**
 * The whole document, from the API route modules' own descriptions (`routes`: every
 * `/api` route module's `loader.openapi`, collected from the build by describeApi)
 * and the shared schemas.
 */
export function openApiDocument(version: string, routes: readonly ApiRouteDoc[]): Json {
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
    paths: pathsOf(routes),
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
