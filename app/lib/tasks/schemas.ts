/**
 * A task's input, list filters and view as zod schemas: the domain validates with
 * them and the API layer (app/lib/api/schemas.ts) re-exports them for its routes,
 * the MCP tools and the OpenAPI document. Request schemas are strict (an unknown
 * field is refused by name). The enumerations come from db/schema.ts, their one source.
 */
import { z } from "zod";
import { CLAIMANT_TYPES, RUN_STATES, TASK_PRIORITIES, TASK_STATUSES } from "../../../db/schema";
import { BLOCK_REASON_MAX, LIFECYCLE_ACTIONS } from "./lifecycle";
import { BranchSchema, ProjectKeySchema, TimestampSchema } from "../projects/schemas";
import { REPO_URL_MAX } from "../projects/repo-url";
import { multiLine, multiLineText, singleLine, singleLineText } from "../domain/text";

export const TASK_LIMITS = {
  title: 180,
  description: 50_000,
  planMarkdown: 100_000,
  labels: 20,
  labelLength: 40,
  acceptanceCriteria: 50,
  criterionLength: 200,
  engine: 64,
  resultBytes: 64 * 1024,
  resultDepth: 32,
  blockReason: BLOCK_REASON_MAX,
  query: 200,
  pageDefault: 50,
  pageMax: 200,
  blockedBy: 50,
  leaseSecondsMin: 10,
  leaseSecondsMax: 86_400,
  leaseSecondsDefault: 900,
  noteMarkdown: 50_000,
  artifacts: 20,
  artifactType: 40,
  artifactTitle: 200,
  artifactUrl: 2_048,
} as const;

// ---------------------------------------------------------------- building blocks

export const TaskStatusSchema = z.enum(TASK_STATUSES);
export const TaskPrioritySchema = z.enum(TASK_PRIORITIES);
export const RunStateSchema = z.enum(RUN_STATES);
export const LifecycleActionSchema = z.enum(LIFECYCLE_ACTIONS);

// Free text follows app/lib/domain/text.ts: no control characters anywhere (a multi-line
// field keeps tab, LF and CRLF); no bidirectional formatting in a single line.
const TitleSchema = singleLineText(TASK_LIMITS.title);
const DescriptionSchema = multiLineText(TASK_LIMITS.description);
const PlanSchema = multiLineText(TASK_LIMITS.planMarkdown);
const LabelNameSchema = singleLineText(TASK_LIMITS.labelLength);
const LabelsSchema = z.array(LabelNameSchema).max(TASK_LIMITS.labels);
const CriteriaSchema = z.array(singleLineText(TASK_LIMITS.criterionLength)).max(TASK_LIMITS.acceptanceCriteria);
export const EngineSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(TASK_LIMITS.engine)
  .regex(/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/, "Must be a slug such as claude-code, codex or gemini-cli")
  .describe("A slug such as claude-code, codex, gemini-cli");

const TaskKeySchema = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9]{2,10}-[1-9][0-9]{0,8}$/, "Must be a task key such as PROJ-12")
  .describe("A task key (any case)");
const BlockedBySchema = z
  .array(TaskKeySchema)
  .max(TASK_LIMITS.blockedBy)
  .describe(`The tasks (keys, any project, at most ${TASK_LIMITS.blockedBy}) this one waits for; replaces the set`);
export const LeaseSecondsSchema = z
  .number()
  .int()
  .min(TASK_LIMITS.leaseSecondsMin)
  .max(TASK_LIMITS.leaseSecondsMax)
  .describe(
    `How long the claim lasts without a heartbeat, ${TASK_LIMITS.leaseSecondsMin}–${TASK_LIMITS.leaseSecondsMax} seconds, default ${TASK_LIMITS.leaseSecondsDefault}`,
  );

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
    if (jsonDepthExceeds(value, TASK_LIMITS.resultDepth)) {
      ctx.addIssue({ code: "custom", message: `Must be nested at most ${TASK_LIMITS.resultDepth} levels deep` });
      return;
    }
    if (Buffer.byteLength(JSON.stringify(value), "utf8") > TASK_LIMITS.resultBytes) {
      ctx.addIssue({ code: "custom", message: `Must be at most ${TASK_LIMITS.resultBytes} bytes of JSON` });
    }
  })
  .describe("Any JSON object an agent reports, e.g. {summary, tests, pr_url}; at most 64 KiB");

/** Why a task is blocked: trimmed, at most 2 000 characters; empty means no reason. */
export const BlockReasonSchema = multiLine(
  z.string().trim().max(TASK_LIMITS.blockReason, `Must be at most ${TASK_LIMITS.blockReason} characters`),
).describe("Why the task is blocked (lifecycle_action block only); stored as block_reason");

// ---------------------------------------------------------------- note and artifacts (contract §10)

/** The agent's working note: Markdown, at most 50 000 characters; "" or null clears it. */
export const NoteMarkdownSchema = multiLineText(TASK_LIMITS.noteMarkdown).describe(
  `The agent's working note (Markdown, at most ${TASK_LIMITS.noteMarkdown} characters); "" or null clears it`,
);

/** True for an absolute http(s) URL (so never `javascript:`, `data:`, `file:` …). */
export function isHttpUrl(value: string): boolean {
  if (!/^https?:\/\//i.test(value)) return false;
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}

export const ArtifactSchema = z.strictObject({
  type: singleLineText(TASK_LIMITS.artifactType).describe("What it is: pr, log, screenshot, build …"),
  title: singleLineText(TASK_LIMITS.artifactTitle),
  url: singleLine(z.string().trim().max(TASK_LIMITS.artifactUrl, `Must be at most ${TASK_LIMITS.artifactUrl} characters`))
    .refine(isHttpUrl, "Must be an http:// or https:// URL")
    .describe("An http(s) URL"),
});
export type Artifact = z.output<typeof ArtifactSchema>;
export const ArtifactListSchema = z
  .array(ArtifactSchema)
  .max(TASK_LIMITS.artifacts, `At most ${TASK_LIMITS.artifacts} artifacts`)
  .describe(`The agent's artifacts (at most ${TASK_LIMITS.artifacts}); replaces the list`);

/** Adds an issue when an alias and its canonical field are both given with different values. */
function checkAlias(value: Record<string, unknown>, ctx: z.RefinementCtx, canonical: string, alias: string): void {
  if (value[canonical] !== undefined && value[alias] !== undefined && value[canonical] !== value[alias]) {
    ctx.addIssue({ code: "custom", path: [alias], message: `${alias} and ${canonical} are the same field; give one of them` });
  }
}

// ---------------------------------------------------------------- requests

export const CreateTaskBodySchema = z
  .strictObject({
    title: TitleSchema,
    description: DescriptionSchema.optional(),
    project_key: ProjectKeySchema.optional(),
    projectKey: ProjectKeySchema.optional().describe("Alias of project_key"),
    repo: singleLine(z.string().trim().max(REPO_URL_MAX))
      .optional()
      .describe("Matched against a project's repo_url, in any GitHub URL form"),
    status: TaskStatusSchema.optional().describe("Default inbox"),
    priority: TaskPrioritySchema.optional().describe("Default none"),
    labels: LabelsSchema.optional().describe("Unknown labels are created in the project"),
    acceptance_criteria: CriteriaSchema.optional(),
    engine: EngineSchema.nullable().optional(),
    branch: BranchSchema.nullable().optional(),
    blocked_by: BlockedBySchema.optional(),
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
    reason: BlockReasonSchema.nullable().optional(),
    lease_seconds: LeaseSecondsSchema.optional().describe(
      "With lifecycle_action start: the claim's lease, 10–86400 s, default 900",
    ),
    blocked_by: BlockedBySchema.optional(),
    note_markdown: NoteMarkdownSchema.nullable().optional(),
    noteMarkdown: NoteMarkdownSchema.nullable().optional().describe("Alias of note_markdown"),
    artifacts: ArtifactListSchema.optional(),
  })
  .superRefine((value, ctx) => {
    checkAlias(value, ctx, "planMarkdown", "plan_markdown");
    checkAlias(value, ctx, "note_markdown", "noteMarkdown");
    // The note is a change of its own (audit task.note, never a status change): one PATCH, one command, one audit entry.
    const note = NOTE_FIELDS.filter((field) => value[field] !== undefined);
    const other = Object.keys(value).filter(
      (field) => value[field as keyof typeof value] !== undefined && !NOTE_FIELDS.includes(field as NoteField),
    );
    if (note.length > 0 && other.length > 0) {
      ctx.addIssue({
        code: "custom",
        path: [note[0]!],
        message: `${note.join(", ")} go in a PATCH of their own (not with ${other.join(", ")})`,
      });
    }
    if (value.reason !== undefined && value.lifecycle_action !== "block") {
      ctx.addIssue({ code: "custom", path: ["reason"], message: "reason goes with lifecycle_action block" });
    }
    if (value.status !== undefined && value.lifecycle_action !== undefined) {
      ctx.addIssue({ code: "custom", path: ["status"], message: "Give either status or lifecycle_action, not both" });
    }
    const plan = value.planMarkdown ?? value.plan_markdown;
    if (value.lifecycle_action === "plan" && (typeof plan !== "string" || plan.trim() === "")) {
      ctx.addIssue({ code: "custom", path: ["planMarkdown"], message: "lifecycle_action plan needs a non-empty planMarkdown" });
    }
    if (value.lease_seconds !== undefined && value.lifecycle_action !== "start") {
      ctx.addIssue({ code: "custom", path: ["lease_seconds"], message: "lease_seconds goes with lifecycle_action start" });
    }
  })
  .transform(({ plan_markdown, planMarkdown, note_markdown, noteMarkdown, ...rest }) => {
    const note = note_markdown !== undefined ? note_markdown : noteMarkdown;
    return {
      ...rest,
      plan_markdown: planMarkdown !== undefined ? planMarkdown : plan_markdown,
      ...(note === undefined ? {} : { note_markdown: note }),
    };
  });
export type PatchTaskBody = z.output<typeof PatchTaskBodySchema>;

const NOTE_FIELDS = ["note_markdown", "noteMarkdown", "artifacts"] as const;
type NoteField = (typeof NOTE_FIELDS)[number];

/** True when a parsed PATCH sets the note or artifacts (and so, by the schema, nothing else). */
export function isNotePatch(body: PatchTaskBody): boolean {
  return body.note_markdown !== undefined || body.artifacts !== undefined;
}

/** The note's own input (the command's, and the MCP tool's after renaming): at least one of the two. */
export const TaskNoteBodySchema = z
  .strictObject({
    note_markdown: NoteMarkdownSchema.nullable().optional(),
    artifacts: ArtifactListSchema.optional(),
  })
  .refine((value) => value.note_markdown !== undefined || value.artifacts !== undefined, {
    message: "Give note_markdown or artifacts",
  });
export type TaskNoteBody = z.output<typeof TaskNoteBodySchema>;

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
  q: singleLine(z.string().min(1, "Must not be empty").max(TASK_LIMITS.query))
    .optional()
    .describe("Text in the title (case-insensitive)"),
  updated_since: z
    .union([z.iso.datetime({ offset: true }), z.iso.date()])
    .optional()
    .describe("ISO 8601 date or date-time; tasks updated at or after it"),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(TASK_LIMITS.pageMax)
    .default(TASK_LIMITS.pageDefault)
    .describe(`Page size, 1–${TASK_LIMITS.pageMax}, default ${TASK_LIMITS.pageDefault}`),
  cursor: z.string().max(TASK_LIMITS.query).optional().describe("next_cursor of the previous page"),
  ready: z
    .enum(["true", "false"])
    .optional()
    .describe("true: only tasks in todo with no open blocker and no live lease (what an agent may start now)"),
});
export type ListTasksQuery = z.output<typeof ListTasksQuerySchema>;

// ---------------------------------------------------------------- views

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
  run_state: RunStateSchema.nullable(),
  run_state_updated_at: TimestampSchema.nullable(),
  result: z.record(z.string(), z.unknown()).nullable(),
  block_reason: z.string().nullable(),
  note_markdown: z.string().nullable().describe("The agent's working note (Markdown), or null"),
  artifacts: z.array(z.object({ type: z.string(), title: z.string(), url: z.string() })).describe("The agent's artifacts"),
  blocked_by: z.array(z.string()).describe("Keys of the tasks this one waits for"),
  blocking: z.array(z.string()).describe("Keys of the tasks waiting for this one"),
  claimed_by: z
    .object({ type: z.enum(CLAIMANT_TYPES), name: z.string() })
    .nullable()
    .describe("Who holds the task's lease while it is live, else null"),
  lease_expires_at: TimestampSchema.nullable(),
  repo: z.string().nullable(),
  version: z.number().int().min(1),
  created_at: TimestampSchema,
  updated_at: TimestampSchema,
  archived_at: TimestampSchema.nullable(),
});
export type TaskView = z.output<typeof TaskSchema>;

// ---------------------------------------------------------------- coordination (contract §11)

export const ClaimBodySchema = z.strictObject({
  lease_seconds: LeaseSecondsSchema.optional(),
  engine: EngineSchema.nullable().optional(),
});
export type ClaimBody = z.output<typeof ClaimBodySchema>;

export const HeartbeatBodySchema = z.strictObject({ lease_seconds: LeaseSecondsSchema.optional() });
export type HeartbeatBody = z.output<typeof HeartbeatBodySchema>;

export const ReleaseBodySchema = z.strictObject({});

export const NextTaskBodySchema = z.strictObject({
  project_key: ProjectKeySchema.optional(),
  label: LabelNameSchema.optional().describe("A label name, case-insensitive"),
  engine: EngineSchema.optional().describe("Only tasks for this engine"),
  lease_seconds: LeaseSecondsSchema.optional(),
});
export type NextTaskBody = z.output<typeof NextTaskBodySchema>;

export const LabelSchema = z.object({ name: z.string(), color: z.string() });
