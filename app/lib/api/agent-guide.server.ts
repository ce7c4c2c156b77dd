/**
 * `preq_agent_guide`'s answer: a short Markdown guide to the workflow as this
 * server runs it (the lifecycle rules of api.md and contract §10–§11), for an
 * agent that has only the tool list. Kept in step with the tools by the MCP
 * tests, which check that every tool it names exists.
 */

const GUIDE = `# Working tasks on PreqStation

Tasks move inbox → todo → ready → done (hold = blocked, archived = put away). Tools take a task
by \`taskId\`: its key (\`PROJ-12\`) or uuid. Every tool error starts with a code: \`NOT_FOUND\`,
\`CONFLICT\` (a lifecycle rule or another agent's claim; the message says why), \`VALIDATION_ERROR\`
(the details name the argument), \`FORBIDDEN\` (a read-only token).

## The loop

1. **Find work.** \`preq_list_tasks\` (\`status\`, \`label\`, \`projectKey\`, \`engine\`, \`runState\`,
   \`detail: "simple"\` for a short list), then \`preq_get_task\` for every field; or
   \`preq_claim_next_task\` to be handed the most urgent ready task, already claimed.
   \`preq_list_projects\` and \`preq_get_project_settings\` tell you the repository and how to deliver
   (\`deploy_strategy\`, \`deploy_default_branch\`, …).
2. **Plan.** \`preq_plan_task\` (\`projectKey\`, \`taskId\`, \`planMarkdown\`, optionally
   \`acceptanceCriteria\`, \`priority\`, \`labels\`): an inbox task moves to todo.
3. **Start.** \`preq_start_task\` claims the task for you (\`run_state: working\`) with a lease of
   \`leaseSeconds\` (default 900). Renew it with \`preq_heartbeat_task\` while you work; give the task up
   with \`preq_release_task\`. While someone else's lease is live, starting it is a \`CONFLICT\`.
4. **Keep a note.** \`preq_update_task_note\` (\`noteMarkdown\`, \`artifacts: [{type, title, url}]\`)
   records where you are; it never changes the status.
5. **Finish.** \`preq_complete_task\` (\`summary\`, and \`tests\`, \`prUrl\`, \`notes\`, \`branchName\`,
   \`artifacts\` as you have them) moves todo or hold → ready with that result. Stuck?
   \`preq_block_task\` with a \`reason\` puts the task on hold. After verifying ready work,
   \`preq_review_task\` moves it to done. \`preq_update_task_status\` is a plain status change.

## The owner's comments

The owner asks questions on a task. \`preq_list_task_comments\` (\`taskId\`) shows the thread;
\`preq_get_task_comment\` one comment. For each comment waiting on you (\`run_state: queued\`):
mark it \`working\` with \`preq_update_task_comment_state\`, answer with \`preq_reply_task_comment\`
(\`body\`, Markdown), then mark it \`done\` (or \`failed\` with an \`errorMessage\`).
\`preq_list_project_activity\` (\`from\`, \`to\`) lists what happened in a time range.
`;

/** The guide; with the engine the agent runs as, a line on passing it along. */
export function agentGuide(engine?: string): string {
  if (!engine) return GUIDE;
  return `${GUIDE}
You run as \`${engine}\`: pass \`engine: "${engine}"\` to \`preq_start_task\`, \`preq_claim_next_task\`
(which then only hands you tasks for \`${engine}\` or for no engine) and \`preq_complete_task\`, so the
board shows who did the work.
`;
}
