/**
 * Coordination on the owner's pages in Chromium (contract §11): the lock badge with
 * the holder on the board, the task page's claim and dependencies, and freeing a stuck
 * claim, with JavaScript (single fetch posts to `.data`) and without.
 */
import { setupOwner } from "../support/http";
import type { TestServer } from "../support/server";
import { api, createToken, expect, signIn, test } from "./fixtures";

async function claimedTask(server: TestServer) {
  await setupOwner(server);
  const token = await createToken(server, "stuck-agent");
  await api(server, token, "POST", "/api/projects", { name: "Coord", project_key: "CRD" });
  await api(server, token, "POST", "/api/tasks", { project_key: "CRD", title: "Schema first", status: "todo" });
  await api(server, token, "POST", "/api/tasks", {
    project_key: "CRD",
    title: "Then the API",
    status: "todo",
    blocked_by: ["CRD-1"],
  });
  await api(server, token, "PATCH", "/api/tasks/CRD-1", { lifecycle_action: "start", lease_seconds: 3600 });
}

async function freeTheClaim(page: import("@playwright/test").Page) {
  const todo = page.getByRole("region", { name: /^todo/ });
  await expect(todo.getByText("stuck-agent")).toBeVisible();
  await todo.getByRole("link", { name: /CRD-1 Schema first/ }).click();
  const card = page.getByRole("region", { name: "Coordination" });
  await expect(card.getByText("stuck-agent")).toBeVisible();
  await expect(card.getByRole("list", { name: "Blocking" }).getByRole("link", { name: "CRD-2" })).toBeVisible();
  await card.getByRole("button", { name: "Free this claim" }).click();
  await expect(card.getByText("Not claimed: any agent may start it.")).toBeVisible();
  await expect(page).toHaveURL(/\/tasks\/CRD-1$/);
  await expect(page.locator(".history").getByText("task.release").first()).toBeVisible();
  await page.getByRole("link", { name: "CRD-2" }).click();
  const blocked = page.getByRole("region", { name: "Coordination" }).getByRole("list", { name: "Blocked by" });
  await expect(blocked.getByText("todo")).toBeVisible();
}

test.describe("with JavaScript", () => {
  test("the board shows the holder; the owner frees a stuck claim from the task page", async ({ page, freshServer: server }) => {
    await claimedTask(server);
    await signIn(page, server);
    const posted = page.waitForRequest((r) => r.method() === "POST" && r.url().endsWith("/tasks/CRD-1.data"));
    await freeTheClaim(page);
    expect((await posted).url()).toMatch(/\.data$/);
  });
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });
  test("the same with plain forms", async ({ page, freshServer: server }) => {
    await claimedTask(server);
    await signIn(page, server);
    await freeTheClaim(page);
  });
});
