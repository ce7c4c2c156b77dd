/**
 * The zod schemas of the JSON API: the one source for request validation in the
 * routes and for the OpenAPI document (`z.toJSONSchema`). Request schemas are
 * strict (an unknown field is a 400 naming it); response schemas describe what
 * the routes send. A task's and a project's own schemas (input, filters, view)
 * live with their domain (app/lib/tasks/schemas.ts, app/lib/projects/schemas.ts)
 * and are re-exported here; this module adds the API's envelopes and errors.
 */
import { z } from "zod";
import { TOKEN_SCOPES } from "../../../db/schema";
import { PROJECT_LIMITS, ProjectSchema, SettingsSchema, TimestampSchema } from "../projects/schemas";
import { LabelSchema, TASK_LIMITS, TaskSchema } from "../tasks/schemas";
import { API_ERRORS, type ApiErrorCode } from "./errors.server";

export * from "../projects/schemas";
export * from "../tasks/schemas";
export * from "../comments/schemas";

// ---------------------------------------------------------------- limits

export const LIMITS = { ...PROJECT_LIMITS, ...TASK_LIMITS } as const;

/** Fields a client may never set, with the reason given in the 400. */
export const READ_ONLY_FIELDS: Record<string, string> = {
  id: "id is assigned by the server and cannot be set",
  uuid: "uuid is assigned by the server and cannot be set",
  task_key: "task_key is assigned by the server and cannot be set",
  project_key: "project_key cannot be changed",
  version: "version is maintained by the server; send If-Match to guard a change",
  created_at: "created_at is maintained by the server",
  updated_at: "updated_at is maintained by the server",
  archived_at: "archived_at follows the status; set status to archived",
  run_state: "run_state follows lifecycle_action (start sets working; other changes clear it)",
};

// ---------------------------------------------------------------- responses

export const TaskResponseSchema = z.object({ task: TaskSchema });
export const TaskListResponseSchema = z.object({
  tasks: z.array(TaskSchema),
  next_cursor: z.string().nullable(),
  available_labels: z.array(LabelSchema),
});
export const ProjectResponseSchema = z.object({ project: ProjectSchema });
export const ProjectListResponseSchema = z.object({ projects: z.array(ProjectSchema) });
export const SettingsResponseSchema = z.object({ settings: SettingsSchema });
export const OkResponseSchema = z.object({ ok: z.literal(true) });
export const HealthResponseSchema = z.object({ ok: z.boolean(), service: z.literal("preqstation"), version: z.string() });
export const MeResponseSchema = z.object({
  token: z.object({ name: z.string(), scope: z.enum(TOKEN_SCOPES), expires_at: TimestampSchema.nullable() }),
});

export const ErrorResponseSchema = z.object({
  error: z.object({
    code: z.enum(Object.keys(API_ERRORS) as [ApiErrorCode, ...ApiErrorCode[]]),
    message: z.string(),
    details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});
