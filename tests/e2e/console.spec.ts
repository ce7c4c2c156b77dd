/**
 * The owner's console in Chromium, with and without JavaScript: finding what one
 * token did through the audit log's actor filter, revoking another session,
 * changing the password then signing in with it, and revoking every API token that
 * survived the change. Each test has a server of its
 * own (`freshServer`), since it changes sessions and the password.
 */
import type { Page } from "@playwright/test";
import { getPage, OWNER_EMAIL, OWNER_PASSWORD, setupOwner } from "../support/http";
import type { TestServer } from "../support/server";
import { api, createToken, expect, signIn, test } from "./fixtures";

const NEW_PASSWORD = "a fresh passphrase for e2e";

/** Signs in, then opens Settings from the main navigation, where every test here starts. */
async function signInToSettings(page: Page, server: TestServer, password?: string) {
  await signIn(page, server, password);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" }).click();
  await expect(page).toHaveURL(/\/settings$/);
}

for (const javaScriptEnabled of [true, false]) {
  test.describe(javaScriptEnabled ? "with JavaScript" : "without JavaScript", () => {
    test.use({ javaScriptEnabled });

    test("finds what a given token did through the audit log's actor filter", async ({ page, freshServer: server }) => {
      await setupOwner(server);
      const suspect = await createToken(server, "deploy-bot");
      const bystander = await createToken(server, "docs-bot");
      await api(server, suspect, "POST", "/api/projects", { name: "Alpha", project_key: "ALPHA" });
      await api(server, suspect, "POST", "/api/tasks", { project_key: "ALPHA", title: "Rotate the keys" });
      await api(server, bystander, "POST", "/api/projects", { name: "Docs", project_key: "DOCS" });

      await signInToSettings(page, server);
      await page.getByRole("navigation", { name: "Settings" }).getByRole("link", { name: "Audit Logs" }).click();
      await expect(page.getByRole("heading", { name: "Audit Logs", level: 1 })).toBeVisible();
      await expect(page.getByRole("cell", { name: "project.create" })).toHaveCount(2);

      const option = page.getByLabel("Actor").getByRole("option", { name: /^Token: deploy-bot/ });
      await page.getByLabel("Actor").selectOption((await option.getAttribute("value"))!);
      await page.getByRole("button", { name: "Apply filters" }).click();

      await expect(page).toHaveURL(/[?&]actor=token%3A\d+/);
      const rows = page.getByRole("table", { name: "Audit log entries, newest first" }).locator(":scope > tbody > tr");
      await expect(rows).toHaveCount(2);
      await expect(rows.filter({ hasText: "deploy-bot" })).toHaveCount(2);
      await expect(rows.filter({ hasText: "DOCS" })).toHaveCount(0);
      await expect(rows.first()).toContainText("task.create");
      await expect(rows.nth(1)).toContainText("project.create");
      await expect(rows.nth(1)).toContainText("ALPHA");

      // The entry's detail: where it came from and which request.
      await rows
        .nth(1)
        .getByText(/^Entry \d+$/)
        .click();
      const details = rows.nth(1).locator("details");
      await expect(details.getByText("Request id")).toBeVisible();
      await expect(details.getByText("127.0.0.1").first()).toBeVisible();

      // The export link carries the same filter.
      const csvHref = await page.getByRole("link", { name: "CSV" }).getAttribute("href");
      expect(csvHref).toMatch(/^\/settings\/audit-logs\/export\?actor=token%3A\d+&format=csv$/);
    });

    test("revokes another session, whose cookie then stops working", async ({ page, freshServer: server }) => {
      const otherCookie = await setupOwner(server); // the "other" browser: the session setup left signed in
      await signInToSettings(page, server);
      await page.goto(`${server.url}/settings/sessions`);
      await expect(page.getByRole("heading", { name: "Sessions", level: 1 })).toBeVisible();
      const table = page.getByRole("table", { name: "Active sessions" });
      await expect(table.locator("tbody > tr")).toHaveCount(2);
      await expect(table.locator('tbody > tr[aria-current="true"]')).toContainText("This session");

      await page.getByRole("button", { name: /^Revoke session: / }).click();
      await expect(page.getByRole("status")).toHaveText("Signed out 1 session.");
      await expect(table.locator("tbody > tr")).toHaveCount(1);
      await expect(page.getByText("This is your only session.")).toBeVisible();

      const replay = await getPage(server, "/settings/sessions", otherCookie);
      expect(replay.status).toBe(302);
      expect(replay.headers.get("location")).toMatch(/^\/login/);
    });

    test("changes the password, then signs in again with the new one", async ({ page, freshServer: server }) => {
      await setupOwner(server);
      await signInToSettings(page, server);
      await page.getByRole("navigation", { name: "Settings" }).getByRole("link", { name: "Security", exact: true }).click();
      await expect(page.getByRole("heading", { name: "Change password" })).toBeVisible();

      await page.getByLabel("Current password").fill("not the password");
      await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
      await page.getByLabel("Confirm new password").fill(NEW_PASSWORD);
      await page.getByRole("button", { name: "Change password" }).click();
      await expect(page.getByText("That is not your current password")).toBeVisible();

      await page.getByLabel("Current password").fill(OWNER_PASSWORD);
      await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
      await page.getByLabel("Confirm new password").fill(NEW_PASSWORD);
      await page.getByRole("button", { name: "Change password" }).click();
      await expect(page.getByRole("status")).toContainText("Password changed");
      await expect(page.getByRole("status")).toContainText("1 other session was signed out.");

      await page.getByRole("button", { name: "Sign out", exact: true }).click();
      await expect(page).toHaveURL(/\/login$/);
      await page.getByLabel("Email").fill(OWNER_EMAIL);
      await page.getByLabel("Password").fill(OWNER_PASSWORD);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await expect(page.getByRole("alert")).toHaveText("Incorrect email or password.");
      await signInToSettings(page, server, NEW_PASSWORD);
      await expect(page.getByText(OWNER_EMAIL)).toBeVisible();
    });

    test("after a password change, shows the API tokens that still work and revokes them all at once", async ({
      page,
      freshServer: server,
    }) => {
      await setupOwner(server);
      const token = await createToken(server, "ci-bot");
      await signInToSettings(page, server);
      await page.getByRole("navigation", { name: "Settings" }).getByRole("link", { name: "Security", exact: true }).click();
      await page.getByLabel("Current password").fill(OWNER_PASSWORD);
      await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
      await page.getByLabel("Confirm new password").fill(NEW_PASSWORD);
      await page.getByRole("button", { name: "Change password" }).click();
      await expect(page.getByRole("status")).toContainText("1 API token still works: review it below.");
      const tokens = page.getByRole("region", { name: "API tokens" });
      await expect(tokens.getByRole("rowheader", { name: "ci-bot" })).toBeVisible();
      const me = () => fetch(`${server.url}/api/me`, { headers: { Authorization: `Bearer ${token}` } });
      expect((await me()).status).toBe(200);

      await tokens.getByRole("button", { name: "Revoke all API tokens (1)" }).click();
      await expect(page.getByRole("status")).toHaveText("Revoked 1 API token. Requests with it are refused from now on.");
      await expect(tokens.getByText("No API token is live.")).toBeVisible();
      expect((await me()).status).toBe(401);
    });
  });
}
