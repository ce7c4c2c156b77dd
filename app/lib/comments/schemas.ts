/**
 * Comments, notes and activity (contract §10) as zod schemas: the domain validates
 * with them and the API layer (app/lib/api/schemas.ts) re-exports them for its
 * routes, the MCP tools and the OpenAPI document. Request schemas are strict.
 */
import { z } from "zod";
import { COMMENT_AUTHOR_TYPES, COMMENT_RUN_STATES } from "../../../db/schema";
import { multiLine } from "../domain/text";
import { ProjectKeySchema, TimestampSchema } from "../projects/schemas";

export const COMMENT_LIMITS = {
  body: 50_000,
  errorMessage: 2_000,
  activityPageDefault: 50,
  activityPageMax: 200,
  cursor: 200,
  projectKeys: 50,
} as const;

export const CommentRunStateSchema = z.enum(COMMENT_RUN_STATES);
export type CommentRunState = z.output<typeof CommentRunStateSchema>;

/** A comment's Markdown: 1–50 000 characters, not only whitespace (kept as written: indentation matters in Markdown). */
export const CommentTextSchema = multiLine(
  z
    .string()
    .refine((value) => value.trim() !== "", "Must not be empty")
    .refine((value) => value.length <= COMMENT_LIMITS.body, `Must be at most ${COMMENT_LIMITS.body} characters`),
).describe(`Markdown, 1–${COMMENT_LIMITS.body} characters`);

/** `POST /api/tasks/:id/comments` and `POST /api/task-comments/:id/reply`. */
export const CommentBodySchema = z.strictObject({ body: CommentTextSchema });
export type CommentBody = z.output<typeof CommentBodySchema>;

/** Why the work failed: at most 2 000 characters; only with run_state failed. */
export const CommentErrorMessageSchema = multiLine(
  z.string().trim().max(COMMENT_LIMITS.errorMessage, `Must be at most ${COMMENT_LIMITS.errorMessage} characters`),
).describe("Why it failed (run_state failed only)");

/** `PATCH /api/task-comments/:id`. */
export const CommentStateBodySchema = z
  .strictObject({
    run_state: CommentRunStateSchema.describe("queued → working → done, or failed with error_message"),
    error_message: CommentErrorMessageSchema.nullable().optional(),
  })
  .superRefine((value, ctx) => {
    if (value.error_message && value.run_state !== "failed") {
      ctx.addIssue({ code: "custom", path: ["error_message"], message: "error_message goes with run_state failed" });
    }
  });
export type CommentStateBody = z.output<typeof CommentStateBodySchema>;

/** `GET /api/activity`'s query parameters, before their cross-checks (the OpenAPI document lists these). */
export const ActivityQueryFieldsSchema = z.strictObject({
  from: z.iso.datetime({ offset: true }).optional().describe("ISO 8601; entries at or after it (default: the beginning)"),
  to: z.iso.datetime({ offset: true }).optional().describe("ISO 8601; entries at or before it (default: now)"),
  project_key: z
    .string()
    .max(COMMENT_LIMITS.projectKeys * 11)
    .optional()
    .describe("A project key, or several comma-separated; default every project"),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(COMMENT_LIMITS.activityPageMax)
    .default(COMMENT_LIMITS.activityPageDefault)
    .describe(`Page size, 1–${COMMENT_LIMITS.activityPageMax}, default ${COMMENT_LIMITS.activityPageDefault}`),
  cursor: z.string().max(COMMENT_LIMITS.cursor).optional().describe("next_cursor of the previous page"),
});

/** `GET /api/activity`'s query. `project_key` may name several projects, comma-separated. */
export const ActivityQuerySchema = ActivityQueryFieldsSchema.superRefine((value, ctx) => {
  if (value.from && value.to && Date.parse(value.from) > Date.parse(value.to)) {
    ctx.addIssue({ code: "custom", path: ["to"], message: "to must not be before from" });
  }
  if (value.project_key !== undefined) {
    value.project_key.split(",").forEach((key, i) => {
      if (!ProjectKeySchema.safeParse(key.trim()).success) {
        ctx.addIssue({
          code: "custom",
          path: ["project_key"],
          message: `Item ${i + 1} must be a project key (2–10 characters A-Z 0-9)`,
        });
      }
    });
  }
}).transform(({ project_key, ...rest }) => ({
  ...rest,
  project_keys: project_key === undefined ? undefined : [...new Set(project_key.split(",").map((k) => k.trim().toUpperCase()))],
}));

/** What `listActivity` takes (the API's query after its transform; the MCP tool's arguments renamed). */
export interface ActivityInput {
  from?: string | undefined;
  to?: string | undefined;
  project_keys?: readonly string[] | undefined;
  limit: number;
  cursor?: string | undefined;
}

// ---------------------------------------------------------------- views

export const CommentAuthorSchema = z
  .union([
    z.literal("owner"),
    z.object({ type: z.enum(COMMENT_AUTHOR_TYPES.filter((t) => t !== "owner") as ["token", "oauth"]), name: z.string() }),
  ])
  .describe('"owner", or the token or OAuth client that wrote it: {type, name}');

export const CommentSchema = z.object({
  id: z.uuid(),
  task_key: z.string(),
  body: z.string().describe("Markdown"),
  author: CommentAuthorSchema,
  parent_id: z.uuid().nullable().describe("The comment this one replies to, or null"),
  run_state: CommentRunStateSchema.nullable(),
  error_message: z.string().nullable(),
  created_at: TimestampSchema,
  updated_at: TimestampSchema,
});
export type CommentView = z.output<typeof CommentSchema>;

export const ActivityItemSchema = z.object({
  at: TimestampSchema,
  action: z.string().describe("The audit action: task.create, comment.reply, …"),
  actor: z.string().describe("Who: the owner's email, the token's name, …"),
  task_key: z.string().nullable(),
  summary: z.string(),
});
export type ActivityItem = z.output<typeof ActivityItemSchema>;

export const CommentResponseSchema = z.object({ comment: CommentSchema });
export const CommentListResponseSchema = z.object({ comments: z.array(CommentSchema) });
export const ActivityResponseSchema = z.object({ activity: z.array(ActivityItemSchema), next_cursor: z.string().nullable() });
