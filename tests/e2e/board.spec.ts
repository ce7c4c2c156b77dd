/**
 * The task board in Chromium: live updates with JavaScript (an agent's API change
 * shows up on the open board and task page within 2 seconds, no reload), accessibility
 * of every board page with axe, and the whole create → edit → review flow with and without JavaScript.
 */
import AxeBuilder from "@axe-core/playwright";
import { OWNER_EMAIL, setupOwner } from "../support/http";
import { api, createToken, expect, hydrated, nextPost, signIn, test } from "./fixtures";

test.describe("with JavaScript", () => {
  test("an agent's change shows up on the open board and task page within 2 seconds, without a reload", async ({
    page,
    freshServer: server,
  }) => {
    await setupOwner(server);
    const token = await createToken(server, "live-agent");
    await api(server, token, "POST", "/api/projects", { name: "Live", project_key: "LIVE" });
    const boardStream = page.waitForResponse((r) => r.url().endsWith("/tasks/events"));
    await signIn(page, server);
    // The EventSource is connected before the agent writes.
    expect((await boardStream).status()).toBe(200);
    // A marker on the window: a reload would drop it.
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    await expect(page.getByRole("heading", { name: "inbox" })).toBeVisible();

    await api(server, token, "POST", "/api/tasks", { project_key: "LIVE", title: "Appears by itself", status: "todo" });
    const todo = page.getByRole("region", { name: /^todo/ });
    await expect(todo.getByRole("link", { name: /LIVE-1 Appears by itself/ })).toBeVisible({ timeout: 2_000 });

    const taskStream = page.waitForResponse((r) => r.url().endsWith("/tasks/events"));
    await todo.getByRole("link", { name: /LIVE-1/ }).click();
    await expect(page.getByRole("heading", { level: 1, name: /LIVE-1 Appears by itself/ })).toBeVisible();
    expect((await taskStream).status()).toBe(200);
    await api(server, token, "PATCH", "/api/tasks/LIVE-1", { lifecycle_action: "start", engine: "codex" });
    await expect(page.locator(".task-badges").getByText("working")).toBeVisible({ timeout: 2_000 });
    // The open edit form keeps the version it was opened with, and says the task moved on.
    await expect(page.getByText("This task has changed since this form was opened")).toBeVisible();
    await expect(page.getByText("token “live-agent”").first()).toBeVisible();
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
  });

  test("axe finds no serious or critical violations on the board pages", async ({ page, freshServer: server }) => {
    // Seven pages, a full axe run on each: ~18 s on a quiet 2-core machine, more when it is shared.
    test.setTimeout(90_000);
    await setupOwner(server);
    const token = await createToken(server, "axe-agent");
    await api(server, token, "POST", "/api/projects", { name: "Axe", project_key: "AXE", repo_url: "acme/axe" });
    await api(server, token, "POST", "/api/tasks", {
      project_key: "AXE",
      title: "Check contrast",
      description: "Some **Markdown** with [a link](https://example.com)",
      labels: ["a11y", "frontend", "bug"],
      priority: "high",
      acceptance_criteria: ["passes axe"],
    });
    await api(server, token, "PATCH", "/api/tasks/AXE-1", {
      lifecycle_action: "start",
      engine: "claude-code",
      plan_markdown: "1. look\n2. fix",
    });
    await signIn(page, server);
    for (const path of [
      "/tasks",
      "/tasks?view=list",
      "/tasks/new",
      "/tasks/AXE-1",
      "/tasks/AXE-1?confirm=delete",
      "/projects",
      "/projects/AXE",
    ]) {
      await page.goto(`${server.url}${path}`);
      await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
      const results = await new AxeBuilder({ page }).analyze();
      const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
      expect(
        bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
        path,
      ).toEqual([]);
    }
  });
});

for (const js of [true, false]) {
  test.describe(js ? "with JavaScript" : "without JavaScript", () => {
    test.use({ javaScriptEnabled: js });

    test("the whole create → edit → review flow works with the page's forms", async ({ page, freshServer: server }) => {
      await setupOwner(server);
      await signIn(page, server);
      await hydrated(page, js);
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Projects" }).click();
      await page.getByLabel("Name").fill("Plain Forms");
      await page.getByLabel("Project key").fill("PF");
      await page.getByRole("button", { name: "Create project" }).click();
      await expect(page).toHaveURL(/\/projects\/PF$/);

      await page.getByRole("link", { name: "New task in PF" }).click();
      await page.getByLabel("Title").fill("Works without scripts");
      await page.getByLabel("Description (Markdown)").fill("First *draft*");
      await page.getByLabel("Labels").fill("nojs, forms");
      await page.getByLabel("Acceptance criteria").fill("creates\nedits\nreviews");
      await hydrated(page, js);
      const created = nextPost(page, "/tasks/new", js);
      await page.getByRole("button", { name: "Create task" }).click();
      await created;
      await expect(page).toHaveURL(/\/tasks\/PF-1$/);
      await expect(page.getByRole("heading", { level: 1, name: /PF-1 Works without scripts/ })).toBeVisible();

      const edit = page.getByRole("region", { name: "Edit" });
      await edit.getByLabel("Title").fill("Works without scripts, edited");
      await edit.getByLabel("Priority").selectOption("high");
      await hydrated(page, js);
      const saved = nextPost(page, "/tasks/PF-1", js);
      await edit.getByRole("button", { name: "Save changes" }).click();
      await saved;
      await expect(page.getByRole("heading", { level: 1, name: /edited/ })).toBeVisible();

      await page.getByLabel("Status", { exact: true }).selectOption("ready");
      await page.getByRole("button", { name: "Set status" }).click();
      await page.getByRole("button", { name: "Approve (ready → done)" }).click();
      await expect(page.locator(".task-badges").getByText("done", { exact: true })).toBeVisible();
      const history = page.getByRole("region", { name: "History" });
      await expect(history.getByText("task.create")).toBeVisible();
      await expect(history.getByText("task.update").first()).toBeVisible();
      await expect(history.getByText(`${OWNER_EMAIL} (owner)`).first()).toBeVisible();

      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Tasks" }).click();
      await expect(page.getByRole("region", { name: /^done/ }).getByRole("link", { name: /PF-1/ })).toBeVisible();
    });
  });
}
