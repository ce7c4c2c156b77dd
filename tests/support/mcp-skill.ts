/**
 * The preqstation agent skill's MCP surface as api.md lists it: each tool's name,
 * its camelCase arguments and which of them are required, in the spec's order. The
 * MCP tests hold the server's tool list to this table, so an agent with that skill
 * finds every tool and every argument it sends.
 */
export interface SkillTool {
  args: readonly string[];
  required: readonly string[];
  read: boolean;
}

export const SKILL_TOOLS: Readonly<Record<string, SkillTool>> = {
  preq_agent_guide: { args: ["engine"], required: [], read: true },
  preq_list_projects: { args: [], required: [], read: true },
  preq_get_project_settings: { args: ["projectKey"], required: ["projectKey"], read: true },
  preq_list_tasks: {
    args: ["status", "label", "projectKey", "engine", "runState", "limit", "detail", "cursor"],
    required: [],
    read: true,
  },
  preq_get_task: { args: ["taskId"], required: ["taskId"], read: true },
  preq_create_task: {
    // idempotencyKey: the API's Idempotency-Key header, so a retried create cannot make two tasks.
    args: ["title", "repo", "description", "priority", "labels", "acceptanceCriteria", "branch", "engine", "idempotencyKey"],
    required: ["title", "repo"],
    read: false,
  },
  preq_plan_task: {
    args: ["projectKey", "taskId", "planMarkdown", "acceptanceCriteria", "priority", "labels", "engine"],
    required: ["projectKey", "taskId", "planMarkdown"],
    read: false,
  },
  preq_start_task: { args: ["taskId", "engine", "leaseSeconds"], required: ["taskId"], read: false },
  preq_update_task_note: {
    args: ["taskId", "noteMarkdown", "artifacts", "engine"],
    required: ["taskId", "noteMarkdown"],
    read: false,
  },
  preq_complete_task: {
    args: ["taskId", "summary", "tests", "prUrl", "notes", "branchName", "artifacts", "engine"],
    required: ["taskId", "summary"],
    read: false,
  },
  preq_review_task: { args: ["taskId", "summary", "engine"], required: ["taskId"], read: false },
  preq_block_task: { args: ["taskId", "reason", "engine"], required: ["taskId", "reason"], read: false },
  preq_update_task_status: { args: ["taskId", "status", "engine"], required: ["taskId", "status"], read: false },
  preq_delete_task: { args: ["taskId"], required: ["taskId"], read: false },
  preq_list_task_comments: { args: ["taskId"], required: ["taskId"], read: true },
  preq_get_task_comment: { args: ["commentId"], required: ["commentId"], read: true },
  preq_update_task_comment_state: {
    args: ["commentId", "runState", "errorMessage", "engine"],
    required: ["commentId", "runState"],
    read: false,
  },
  preq_reply_task_comment: {
    args: ["commentId", "body", "noteUpdated", "engine"],
    required: ["commentId", "body"],
    read: false,
  },
  preq_list_project_activity: {
    args: ["from", "to", "projectKeys", "limit", "cursor"],
    required: ["from", "to"],
    read: true,
  },
  preq_claim_next_task: { args: ["projectKey", "label", "engine", "leaseSeconds"], required: [], read: false },
  preq_heartbeat_task: { args: ["taskId", "leaseSeconds"], required: ["taskId"], read: false },
  preq_release_task: { args: ["taskId"], required: ["taskId"], read: false },
};

export const SKILL_TOOL_NAMES = Object.keys(SKILL_TOOLS);
export const SKILL_READ_TOOLS = SKILL_TOOL_NAMES.filter((name) => SKILL_TOOLS[name]!.read);
export const SKILL_WRITE_TOOLS = SKILL_TOOL_NAMES.filter((name) => !SKILL_TOOLS[name]!.read);
