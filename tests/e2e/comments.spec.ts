/**
 * The conversation on a task in Chromium (issue 27, contract §10): the owner comments
 * on /tasks/<KEY> with and without JavaScript; an agent's reply made through the API
 * shows up on the open page within 2 seconds (JavaScript: the live stream); hostile
 * Markdown in comments and the note is inert.
 */
import type { Page } from "@playwright/test";
import { setupOwner } from "../support/http";
import type { TestServer } from "../support/server";
import { api, createToken, expect, hydrated, nextPost, signIn, test } from "./fixtures";

async function prepare(page: Page, server: TestServer): Promise<string> {
  await setupOwner(server);
  const token = await createToken(server, "helper-bot");
  await api(server, token, "POST", "/api/projects", { name: "Chat", project_key: "CHAT" });
  await api(server, token, "POST", "/api/tasks", { project_key: "CHAT", title: "Talk to me", status: "todo" });
  await signIn(page, server);
  return token;
}

async function ownerComments(page: Page, server: TestServer, javaScriptEnabled: boolean) {
  await page.goto(`${server.url}/tasks/CHAT-1`);
  await hydrated(page, javaScriptEnabled);
  const thread = page.getByRole("region", { name: "Comments" });
  await expect(thread).toContainText("No comments yet.");

  // Empty: answered inline, nothing posted, what was typed kept.
  await page.getByLabel("Add a comment (Markdown)").fill("   ");
  let posted = nextPost(page, "/tasks/CHAT-1", javaScriptEnabled);
  await page.getByRole("button", { name: "Post comment" }).click();
  expect((await posted).status()).toBe(400);
  await expect(thread.getByRole("alert")).toContainText("The comment was not posted. Must not be empty");
  await expect(page.getByLabel("Add a comment (Markdown)")).toHaveValue("   ");

  await page.getByLabel("Add a comment (Markdown)").fill("Which **approach** do you take?");
  posted = nextPost(page, "/tasks/CHAT-1", javaScriptEnabled);
  await page.getByRole("button", { name: "Post comment" }).click();
  await posted;
  const comment = thread.getByRole("article", { name: "Comment by You (owner)" });
  await expect(comment).toContainText("Which approach do you take?");
  await expect(comment.locator("strong", { hasText: "approach" })).toBeVisible();
  await expect(comment.locator(".badge")).toHaveText("queued");
  await expect(page.getByLabel("Add a comment (Markdown)")).toHaveValue("");
  await expect(thread.getByRole("alert")).toHaveCount(0);
}

async function commentsOf(server: TestServer, token: string) {
  const res = await fetch(`${server.url}/api/tasks/CHAT-1/comments`, { headers: { Authorization: `Bearer ${token}` } });
  return (await res.json()).comments as { id: string; run_state: string | null; author: unknown }[];
}

test.describe("with JavaScript", () => {
  test("the owner comments; the agent's state and reply appear on the open page within 2 s", async ({
    page,
    freshServer: server,
  }) => {
    const token = await prepare(page, server);
    await ownerComments(page, server, true);
    const [asked] = await commentsOf(server, token);
    expect(asked).toMatchObject({ run_state: "queued", author: "owner" });

    const thread = page.getByRole("region", { name: "Comments" });
    await api(server, token, "PATCH", `/api/task-comments/${asked!.id}`, { run_state: "working" });
    await expect(thread.getByRole("article", { name: "Comment by You (owner)" }).locator(".badge")).toHaveText("working", {
      timeout: 2_000,
    });
    await api(server, token, "POST", `/api/task-comments/${asked!.id}/reply`, { body: "Option *B*, a smaller diff." });
    const reply = thread.getByRole("list", { name: "Replies" }).getByRole("article", { name: "Comment by helper-bot (token)" });
    await expect(reply).toContainText("Option B, a smaller diff.", { timeout: 2_000 });
    await api(server, token, "PATCH", `/api/task-comments/${asked!.id}`, { run_state: "done" });
    await expect(thread.getByRole("article", { name: "Comment by You (owner)" }).locator(".badge")).toHaveText("done", {
      timeout: 2_000,
    });

    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 900 });
      await thread.scrollIntoViewIfNeeded();
      await page.screenshot({ path: test.info().outputPath(`comments-${width}.png`), fullPage: true });
      await thread.screenshot({ path: test.info().outputPath(`thread-${width}.png`) });
      // Nothing in the thread is wider than the page.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, `horizontal overflow at ${width}px`).toBeLessThanOrEqual(0);
    }
  });

  test("hostile Markdown in a comment and the note is inert", async ({ page, freshServer: server }) => {
    const token = await prepare(page, server);
    const dialogs: string[] = [];
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    const hostile = [
      "<script>window.pwned = 1</script>",
      "",
      "[click me](javascript:window.pwned=2)",
      "",
      '<img src="x" onerror="window.pwned=3"> ![pic](https://evil.example/x.png)',
      "",
      '<a href="javascript:window.pwned=4">raw link</a> <iframe src="https://evil.example"></iframe>',
    ].join("\n");
    await api(server, token, "POST", "/api/tasks/CHAT-1/comments", { body: hostile });
    await api(server, token, "PATCH", "/api/tasks/CHAT-1", {
      note_markdown: hostile,
      artifacts: [{ type: "pr", title: "The PR", url: "https://github.com/o/r/pull/1" }],
    });
    await page.goto(`${server.url}/tasks/CHAT-1`);
    await hydrated(page, true);
    const thread = page.getByRole("region", { name: "Comments" });
    const note = page.getByRole("region", { name: "Agent note" });
    for (const part of [thread, note]) {
      await expect(part.getByText("click me")).toBeVisible();
      await expect(part.locator("script, img, iframe")).toHaveCount(0);
      await expect(part.locator('a[href^="javascript:" i]')).toHaveCount(0);
      await expect(part.locator("[onerror]")).toHaveCount(0);
      await part.getByText("click me").click();
    }
    await expect(note.getByRole("link", { name: "The PR" })).toHaveAttribute("href", "https://github.com/o/r/pull/1");
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(dialogs).toEqual([]);
  });
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });
  test("the owner comments with a plain form; a reload shows the agent's reply", async ({ page, freshServer: server }) => {
    const token = await prepare(page, server);
    await ownerComments(page, server, false);
    const [asked] = await commentsOf(server, token);
    await api(server, token, "POST", `/api/task-comments/${asked!.id}/reply`, { body: "Done: see the PR." });
    await page.reload();
    await expect(
      page.getByRole("list", { name: "Replies" }).getByRole("article", { name: "Comment by helper-bot (token)" }),
    ).toContainText("Done: see the PR.");
  });
});
