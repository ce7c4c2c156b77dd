/**
 * The conversation with the agent on the MCP side (issue 27): the owner asks on
 * /tasks/<KEY> in Chromium; an agent with the preqstation skill's tools — the MCP
 * SDK's own client over Streamable HTTP — reads the question, marks it working,
 * replies and marks it done, and the owner's open page shows each step within 2 s.
 * Then the skill's task lifecycle through the same client shows on the board.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { setupOwner } from "../support/http";
import { api, createToken, expect, hydrated, nextPost, signIn, test } from "./fixtures";

/** A tool call's structured result; fails the test on a tool error. */
async function tool(client: Client, name: string, args: Record<string, unknown>) {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  expect(result.isError ?? false, JSON.stringify(result.content)).toBe(false);
  return result.structuredContent as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- checked field by field
}

test("the owner asks on the page; the agent answers through MCP and the open page shows it within 2 s", async ({
  page,
  freshServer: server,
}) => {
  await setupOwner(server);
  const token = await createToken(server, "codex-agent");
  await api(server, token, "POST", "/api/projects", {
    name: "Shop",
    project_key: "SHOP",
    repo_url: "https://github.com/acme/shop",
  });
  const agent = new Client({ name: "codex", version: "1.0.0" });
  await agent.connect(
    new StreamableHTTPClientTransport(new URL("/mcp", server.url), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    }),
  );
  try {
    // The skill creates its task from the repository's URL; the owner sees it and asks a question.
    const { task } = await tool(agent, "preq_create_task", { title: "Rate-limit login", repo: "https://github.com/acme/shop" });
    expect(task.task_key).toBe("SHOP-1");
    await signIn(page, server);
    await page.goto(`${server.url}/tasks/SHOP-1`);
    await hydrated(page, true);
    const thread = page.getByRole("region", { name: "Comments" });
    await page.getByLabel("Add a comment (Markdown)").fill("Per IP or per **account**?");
    const posted = nextPost(page, "/tasks/SHOP-1", true);
    await page.getByRole("button", { name: "Post comment" }).click();
    await posted;
    const question = thread.getByRole("article", { name: "Comment by You (owner)" });
    await expect(question.locator(".badge")).toHaveText("queued");

    // The agent, through MCP only: read, mark working, reply, mark done.
    const { comments } = await tool(agent, "preq_list_task_comments", { taskId: "SHOP-1" });
    expect(comments).toHaveLength(1);
    expect(comments[0]).toMatchObject({ author: "owner", run_state: "queued", body: "Per IP or per **account**?" });
    const id = comments[0].id as string;
    await tool(agent, "preq_update_task_comment_state", { commentId: id, runState: "working", engine: "codex" });
    await expect(question.locator(".badge")).toHaveText("working", { timeout: 2_000 });
    await tool(agent, "preq_reply_task_comment", { commentId: id, body: "Per *account*, with a per-IP ceiling." });
    const reply = thread.getByRole("list", { name: "Replies" }).getByRole("article", { name: "Comment by codex-agent (token)" });
    await expect(reply).toContainText("Per account, with a per-IP ceiling.", { timeout: 2_000 });
    await expect(reply.locator("em", { hasText: "account" })).toBeVisible();
    await tool(agent, "preq_update_task_comment_state", { commentId: id, runState: "done" });
    await expect(question.locator(".badge")).toHaveText("done", { timeout: 2_000 });

    // The rest of the skill's loop, each step on the owner's page after a reload.
    await tool(agent, "preq_plan_task", { projectKey: "SHOP", taskId: "SHOP-1", planMarkdown: "1. limiter\n2. tests" });
    await tool(agent, "preq_start_task", { taskId: "SHOP-1", engine: "codex" });
    await tool(agent, "preq_update_task_note", { taskId: "SHOP-1", noteMarkdown: "Limiter done; tests next" });
    await tool(agent, "preq_complete_task", {
      taskId: "SHOP-1",
      summary: "Login is rate-limited per account",
      prUrl: "https://github.com/acme/shop/pull/31",
    });
    await page.reload();
    await expect(page.getByRole("region", { name: "Agent note" })).toContainText("Limiter done; tests next");
    const result = page.getByRole("region", { name: "Latest result" });
    await expect(result).toContainText("Login is rate-limited per account");
    await expect(result.getByRole("link", { name: "https://github.com/acme/shop/pull/31" })).toBeVisible();
  } finally {
    await agent.close();
  }
});
