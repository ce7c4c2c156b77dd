/**
 * A project's input and view as zod schemas: the domain validates with them and
 * the API layer (app/lib/api/schemas.ts) re-exports them for its routes and the
 * OpenAPI document. Request schemas are strict (an unknown field is refused by name).
 */
import { z } from "zod";
import { normalizeRepoUrl, REPO_URL_MAX } from "./repo-url";
import { multiLineText, singleLine, singleLineText, textProblem } from "../domain/text";

export const PROJECT_LIMITS = {
  projectName: 100,
  projectDescription: 2_000,
  branch: 200,
} as const;

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

/** A git branch name (a task's branch, a project's default branch); `""` clears a task's. */
export const BranchSchema = singleLine(
  z
    .string()
    .trim()
    .max(PROJECT_LIMITS.branch)
    .regex(/^[^\s\p{Cc}~^:?*[\\]*$/u, "Must be a valid git branch name"),
).describe('A git branch name; "" clears it');

// Free text follows app/lib/domain/text.ts: no control characters anywhere (a multi-line
// field keeps tab, LF and CRLF); no bidirectional formatting in a single line.
const ProjectNameSchema = singleLineText(PROJECT_LIMITS.projectName);
const ProjectDescriptionSchema = multiLineText(PROJECT_LIMITS.projectDescription);

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

// ---------------------------------------------------------------- views

export const TimestampSchema = z.iso.datetime().describe("ISO 8601 UTC");

export const ProjectSchema = z.object({
  id: z.uuid(),
  project_key: z.string(),
  name: z.string(),
  description: z.string(),
  repo_url: z.string().nullable(),
  created_at: TimestampSchema,
  updated_at: TimestampSchema,
});
export type ProjectView = z.output<typeof ProjectSchema>;

export const SettingsSchema = z.object({
  deploy_strategy: z.string(),
  deploy_default_branch: z.string(),
  deploy_auto_pr: z.string(),
  deploy_commit_on_review: z.string(),
  deploy_squash_merge: z.string(),
});
