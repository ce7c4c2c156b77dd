/**
 * The zod schemas of the JSON API: the one source for request validation in the
 * routes and for the OpenAPI document (`z.toJSONSchema`). Request schemas are
 * strict (an unknown field is a 400 naming it); response schemas describe what
 * the routes send.
 */
import { z } from "zod";
import { LIFECYCLE_ACTIONS, RUN_STATES, TASK_PRIORITIES, TASK_STATUSES } from "../tasks/lifecycle";
import { normalizeRepoUrl, REPO_URL_MAX } from "../projects/repo-url";
import { multiLineText, singleLine, singleLineText, textProblem } from "../domain/text";

// ---------------------------------------------------------------- limits

export const LIMITS = {
  projectName: 100,
  projectDescription: 2_000,
  title: 180,
  description: 50_000,
  planMarkdown: 100_000,
  labels: 20,
  labelLength: 40,
  acceptanceCriteria: 50,
  criterionLength: 200,
  engine: 64,
  branch: 200,
  resultBytes: 64 * 1024,
  resultDepth: 32,
  query: 200,
  pageDefault: 50,
  pageMax: 200,
} as const;

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

// ---------------------------------------------------------------- building blocks

export const ProjectKeySchema = z
  .string()
  .regex(/^[A-Za-z0-9]{2,10}$/, "Must be 2–10 characters A-Z 0-9")
  .toUpperCase()
  .describe("2–10 characters A-Z 0-9 (lower case is accepted and upper-cased)");

export const RepoUrlSchema = singleLine(z.string().trim().max(REPO_URL_MAX))
  .superRefine((value, ctx) => {
    if (textProblem(value, "single-line")) return; // already reported, once, by the text rule
    const result = normalizeRepoUrl(value);
    if (!result.ok) ctx.addIssue({ code: "custom", message: result.message });
  })
  .describe("A GitHub URL (https or SSH form) or owner/repo, stored as owner/repo; any other repository URL is kept as given");

export const TaskStatusSchema = z.enum(TASK_STATUSES);
export const TaskPrioritySchema = z.enum(TASK_PRIORITIES);
export const LifecycleActionSchema = z.enum(LIFECYCLE_ACTIONS);

// Free text follows app/lib/text.ts: no control characters anywhere (a multi-line
// field keeps tab, LF and CRLF); no bidirectional formatting in a single line.
const TitleSchema = singleLineText(LIMITS.title);
const DescriptionSchema = multiLineText(LIMITS.description);
const PlanSchema = multiLineText(LIMITS.planMarkdown);
const LabelNameSchema = singleLineText(LIMITS.labelLength);
const LabelsSchema = z.array(LabelNameSchema).max(LIMITS.labels);
const CriteriaSchema = z.array(singleLineText(LIMITS.criterionLength)).max(LIMITS.acceptanceCriteria);
const ProjectNameSchema = singleLineText(LIMITS.projectName);
const ProjectDescriptionSchema = multiLineText(LIMITS.projectDescription);
export const EngineSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(LIMITS.engine)
  .regex(/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/, "Must be a slug such as claude-code, codex or gemini-cli")
  .describe("A slug such as claude-code, codex, gemini-cli");
const BranchSchema = singleLine(
  z
    .string()
    .trim()
    .max(LIMITS.branch)
    .regex(/^[^\s\p{Cc}~^:?*[\\]*$/u, "Must be a valid git branch name"),
).describe('A git branch name; "" clears it');

/** Depth of a JSON value, walked without recursion (so no input can overflow the stack). */
export function jsonDepthExceeds(value: unknown, max: number): boolean {
  const stack: { v: unknown; d: number }[] = [{ v: value, d: 1 }];
  while (stack.length) {
    const { v, d } = stack.pop()!;
    if (typeof v !== "object" || v === null) continue;
    if (d > max) return true;
    for (const child of Object.values(v as Record<string, unknown>)) stack.push({ v: child, d: d + 1 });
  }
  return false;
}

const ResultSchema = z
  .record(z.string(), z.unknown())
  .superRefine((value, ctx) => {
    if (jsonDepthExceeds(value, LIMITS.resultDepth)) {
      ctx.addIssue({ code: "custom", message: `Must be nested at most ${LIMITS.resultDepth} levels deep` });
      return;
    }
    if (Buffer.byteLength(JSON.stringify(value), "utf8") > LIMITS.resultBytes) {
      ctx.addIssue({ code: "custom", message: `Must be at most ${LIMITS.resultBytes} bytes of JSON` });
    }
  })
  .describe("Any JSON object an agent reports, e.g. {summary, tests, pr_url}; at most 64 KiB");

/** Adds an issue when an alias and its canonical field are both given with different values. */
function checkAlias(
  value: Record<string, unknown>,
  ctx: z.RefinementCtx,
  canonical: string,
  alias: string,
): void {
  if (value[canonical] !== undefined && value[alias] !== undefined && value[canonical] !== value[alias]) {
    ctx.addIssue({ code: "custom", path: [alias], message: `${alias} and ${canonical} are the same field; give one of them` });
  }
}

// ---------------------------------------------------------------- settings

export const SETTINGS_DEFAULTS = {
  deploy_strategy: "direct_commit",
  deploy_default_branch: "main",
  deploy_auto_pr: "false",
  deploy_commit_on_review: "true",
  deploy_squash_merge: "true",
} as const;
export type ProjectSettings = Record<keyof typeof SETTINGS_DEFAULTS, string>;

const BoolSetting = z
  .union([z.boolean(), z.enum(["true", "false"])])
  .transform((v) => String(v) as "true" | "false")
  .describe('"true" or "false" (a JSON boolean is accepted and stored as a string)');

export const SettingsPatchSchema = z.strictObject({
  deploy_strategy: z
    .string()
    .regex(/^[a-z0-9_]{1,40}$/, "Must be 1–40 characters a-z 0-9 _")
    .describe("e.g. direct_commit")
    .optional(),
  deploy_default_branch: BranchSchema.min(1, "Must not be empty").optional(),
  deploy_auto_pr: BoolSetting.optional(),
  deploy_commit_on_review: BoolSetting.optional(),
  deploy_squash_merge: BoolSetting.optional(),
});

// ---------------------------------------------------------------- requests

export const CreateProjectBodySchema = z.strictObject({
  name: ProjectNameSchema,
  project_key: ProjectKeySchema.optional().describe("Derived from the name when missing"),
  repo_url: RepoUrlSchema.nullable().optional(),
  description: ProjectDescriptionSchema.optional(),
});
export type CreateProjectBody = z.output<typeof CreateProjectBodySchema>;

export const PatchProjectBodySchema = z.strictObject({
  name: ProjectNameSchema.optional(),
  description: ProjectDescriptionSchema.optional(),
  repo_url: RepoUrlSchema.nullable().optional().describe("null clears it"),
  settings: SettingsPatchSchema.optional(),
});
export type PatchProjectBody = z.output<typeof PatchProjectBodySchema>;

export const CreateTaskBodySchema = z
  .strictObject({
    title: TitleSchema,
    description: DescriptionSchema.optional(),
    project_key: ProjectKeySchema.optional(),
    projectKey: ProjectKeySchema.optional().describe("Alias of project_key"),
    repo: singleLine(z.string().trim().max(REPO_URL_MAX)).optional().describe("Matched against a project's repo_url, in any GitHub URL form"),
    status: TaskStatusSchema.optional().describe("Default inbox"),
    priority: TaskPrioritySchema.optional().describe("Default none"),
    labels: LabelsSchema.optional().describe("Unknown labels are created in the project"),
    acceptance_criteria: CriteriaSchema.optional(),
    engine: EngineSchema.nullable().optional(),
    branch: BranchSchema.nullable().optional(),
  })
  .superRefine((value, ctx) => checkAlias(value, ctx, "project_key", "projectKey"))
  .transform(({ projectKey, ...rest }) => ({ ...rest, project_key: rest.project_key ?? projectKey }));
export type CreateTaskBody = z.output<typeof CreateTaskBodySchema>;

export const PatchTaskBodySchema = z
  .strictObject({
    title: TitleSchema.optional(),
    description: DescriptionSchema.optional(),
    planMarkdown: PlanSchema.nullable().optional(),
    plan_markdown: PlanSchema.nullable().optional().describe("Alias of planMarkdown"),
    priority: TaskPrioritySchema.optional(),
    labels: LabelsSchema.optional().describe("Replaces the task's labels"),
    acceptance_criteria: CriteriaSchema.optional().describe("Replaces the list"),
    engine: EngineSchema.nullable().optional(),
    branch: BranchSchema.nullable().optional(),
    result: ResultSchema.nullable().optional(),
    status: TaskStatusSchema.optional().describe("A plain status change; clears run_state"),
    lifecycle_action: LifecycleActionSchema.optional(),
  })
  .superRefine((value, ctx) => {
    checkAlias(value, ctx, "planMarkdown", "plan_markdown");
    if (value.status !== undefined && value.lifecycle_action !== undefined) {
      ctx.addIssue({ code: "custom", path: ["status"], message: "Give either status or lifecycle_action, not both" });
    }
    const plan = value.planMarkdown ?? value.plan_markdown;
    if (value.lifecycle_action === "plan" && (typeof plan !== "string" || plan.trim() === "")) {
      ctx.addIssue({ code: "custom", path: ["planMarkdown"], message: "lifecycle_action plan needs a non-empty planMarkdown" });
    }
  })
  .transform(({ plan_markdown, planMarkdown, ...rest }) => ({
    ...rest,
    plan_markdown: planMarkdown !== undefined ? planMarkdown : plan_markdown,
  }));
export type PatchTaskBody = z.output<typeof PatchTaskBodySchema>;

export const TaskStatusBodySchema = z.strictObject({
  status: TaskStatusSchema,
  engine: EngineSchema.nullable().optional(),
});
export type TaskStatusBody = z.output<typeof TaskStatusBodySchema>;

export const ListTasksQuerySchema = z.strictObject({
  status: TaskStatusSchema.optional(),
  label: LabelNameSchema.optional().describe("A label name, case-insensitive"),
  engine: EngineSchema.optional(),
  priority: TaskPrioritySchema.optional(),
  run_state: z.enum(["queued", "running", "working"]).optional().describe("running is the same as working"),
  project_key: ProjectKeySchema.optional(),
  q: singleLine(z.string().min(1, "Must not be empty").max(LIMITS.query)).optional().describe("Text in the title (case-insensitive)"),
  updated_since: z
    .union([z.iso.datetime({ offset: true }), z.iso.date()])
    .optional()
    .describe("ISO 8601 date or date-time; tasks updated at or after it"),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(LIMITS.pageMax)
    .default(LIMITS.pageDefault)
    .describe(`Page size, 1–${LIMITS.pageMax}, default ${LIMITS.pageDefault}`),
  cursor: z.string().max(LIMITS.query).optional().describe("next_cursor of the previous page"),
});
export type ListTasksQuery = z.output<typeof ListTasksQuerySchema>;

// ---------------------------------------------------------------- responses

const Timestamp = z.iso.datetime().describe("ISO 8601 UTC");

export const ProjectSchema = z.object({
  id: z.uuid(),
  project_key: z.string(),
  name: z.string(),
  description: z.string(),
  repo_url: z.string().nullable(),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type ProjectView = z.output<typeof ProjectSchema>;

export const SettingsSchema = z.object({
  deploy_strategy: z.string(),
  deploy_default_branch: z.string(),
  deploy_auto_pr: z.string(),
  deploy_commit_on_review: z.string(),
  deploy_squash_merge: z.string(),
});

export const TaskSchema = z.object({
  id: z.string().describe("The task key, e.g. PROJ-12"),
  uuid: z.uuid(),
  task_key: z.string(),
  project_key: z.string(),
  title: z.string(),
  description: z.string(),
  status: TaskStatusSchema,
  priority: TaskPrioritySchema,
  labels: z.array(z.string()),
  acceptance_criteria: z.array(z.string()),
  plan_markdown: z.string().nullable(),
  engine: z.string().nullable(),
  branch: z.string().nullable(),
  run_state: z.enum(RUN_STATES).nullable(),
  run_state_updated_at: Timestamp.nullable(),
  result: z.record(z.string(), z.unknown()).nullable(),
  repo: z.string().nullable(),
  version: z.number().int().min(1),
  created_at: Timestamp,
  updated_at: Timestamp,
  archived_at: Timestamp.nullable(),
});
export type TaskView = z.output<typeof TaskSchema>;

export const LabelSchema = z.object({ name: z.string(), color: z.string() });

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
  token: z.object({ name: z.string(), scope: z.enum(["full", "read"]), expires_at: Timestamp.nullable() }),
});

export const ErrorResponseSchema = z.object({
  error: z.object({
    code: z.enum([
      "INVALID_JSON",
      "VALIDATION_ERROR",
      "UNAUTHORIZED",
      "FORBIDDEN",
      "NOT_FOUND",
      "METHOD_NOT_ALLOWED",
      "CONFLICT",
      "PRECONDITION_FAILED",
      "PAYLOAD_TOO_LARGE",
      "UNSUPPORTED_MEDIA_TYPE",
      "RATE_LIMITED",
      "INTERNAL_ERROR",
      "SERVICE_UNAVAILABLE",
    ]),
    message: z.string(),
    details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});
