import type { Page } from "@playwright/test";
import { getPage, OWNER_EMAIL, OWNER_PASSWORD, setupOwner } from "../support/http";
import type { TestServer } from "../support/server";
import { expect, test } from "./fixtures";

/** Creates the owner once per server (each worker has its own fresh server). */
async function ensureOwner(server: TestServer) {
  if ((await getPage(server, "/setup")).status !== 404) await setupOwner(server);
}

async function signIn(page: Page) {
  await page.goto("/login");
  await page.getByLabel("Email").fill(OWNER_EMAIL);
  await page.getByLabel("Password").fill(OWNER_PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/tasks$/);
  await page.goto("/settings/api-keys");
  await expect(page.getByRole("heading", { name: "API Keys", level: 1 })).toBeVisible();
}

function tokenRow(page: Page, name: string) {
  return page.getByRole("row").filter({ has: page.getByRole("rowheader", { name, exact: true }) });
}

test.beforeEach(async ({ server }) => {
  await ensureOwner(server);
});

test.describe("with JavaScript", () => {
  test("creates a read-only token, copies it, and revokes it after confirming", async ({ page, context, server }) => {
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
    await signIn(page);

    await page.getByRole("link", { name: "New token" }).click();
    await page.getByLabel("Name").fill("e2e-with-js");
    await page.getByLabel("Expires").selectOption("30");
    await page.getByRole("radio", { name: /Read only/ }).check();
    const posted = page.waitForResponse((r) => r.request().method() === "POST" && r.url().includes("/settings/api-keys"));
    await page.getByRole("button", { name: "Create" }).click();
    // The client-side (single fetch) response that carries the token is never cached either.
    const response = await posted;
    expect(response.headers()["cache-control"]).toBe("no-store");
    expect(response.url()).not.toContain("preq_");

    await expect(page.getByText("Copy it now, it will not be shown again.")).toBeVisible();
    const token = (await page.getByLabel("New API token").textContent())!.trim();
    expect(token).toMatch(/^preq_[A-Za-z0-9]{32}$/);
    expect(page.url()).not.toContain("preq_");
    // The form is emptied for the next token.
    await expect(page.getByLabel("Name")).toHaveValue("");

    await page.getByRole("button", { name: "Copy token" }).click();
    await expect(page.getByRole("button", { name: "Copied" })).toBeVisible();
    await expect(page.getByText("Copied to the clipboard.")).toBeVisible();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);

    const row = tokenRow(page, "e2e-with-js");
    await expect(row).toContainText("read");
    await expect(row).toContainText("active");
    await expect(row).toContainText(`${token.slice(0, 9)}…${token.slice(-4)}`);
    await expect(page.getByRole("table")).not.toContainText(token.slice(9, -4));
    await expect(row.getByRole("link", { name: "Audit log for e2e-with-js" })).toHaveAttribute(
      "href",
      /\/settings\/audit-logs\?actor=token:\d+$/,
    );

    const me = await page.request.get("/api/me", { headers: { Authorization: `Bearer ${token}` } });
    expect(me.status()).toBe(200);
    expect(await me.json()).toMatchObject({ token: { name: "e2e-with-js", scope: "read" } });

    // Dismissing the confirmation keeps the token.
    const messages: string[] = [];
    page.once("dialog", (dialog) => {
      messages.push(dialog.message());
      void dialog.dismiss();
    });
    await row.getByRole("button", { name: "Revoke e2e-with-js" }).click();
    await expect.poll(() => messages.length).toBe(1);
    expect(messages[0]).toContain("e2e-with-js");
    await expect(row).toContainText("active");
    expect((await page.request.get("/api/me", { headers: { Authorization: `Bearer ${token}` } })).status()).toBe(200);

    // Accepting it revokes at once.
    page.once("dialog", (dialog) => void dialog.accept());
    await row.getByRole("button", { name: "Revoke e2e-with-js" }).click();
    await expect(page.getByText("Token “e2e-with-js” revoked.")).toBeVisible();
    await expect(row).toContainText("revoked");
    await expect(row.getByRole("button", { name: "Revoke e2e-with-js" })).toHaveCount(0);
    expect((await page.request.get("/api/me", { headers: { Authorization: `Bearer ${token}` } })).status()).toBe(401);
  });

  test("shows validation errors inline", async ({ page }) => {
    await signIn(page);
    // maxLength stops typing past 64 in the browser; remove it to reach the server's check.
    await page.getByLabel("Name").evaluate((el) => el.removeAttribute("maxlength"));
    await page.getByLabel("Name").fill("x".repeat(65));
    await page.getByRole("button", { name: "Create" }).click();
    await expect(page.getByText("Use at most 64 characters")).toBeVisible();
    await expect(page.getByLabel("Name")).toHaveAttribute("aria-invalid", "true");
    await expect(page.getByText("Copy it now")).toHaveCount(0);
  });
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("creates a token, shows it selectable once, and revokes it with a plain form post", async ({ page }) => {
    await signIn(page);
    await page.getByLabel("Name").fill("e2e-no-js");
    await page.getByRole("button", { name: "Create" }).click();

    await expect(page.getByText("Copy it now, it will not be shown again.")).toBeVisible();
    const token = (await page.getByLabel("New API token").textContent())!.trim();
    expect(token).toMatch(/^preq_[A-Za-z0-9]{32}$/);
    expect(page.url()).not.toContain("preq_");
    // No dead copy button without JavaScript.
    await expect(page.getByRole("button", { name: "Copy token" })).toHaveCount(0);

    const row = tokenRow(page, "e2e-no-js");
    await expect(row).toContainText("full");
    await expect(row).toContainText("never");
    await expect(row).toContainText("active");

    // Reloading the list does not show the token again.
    await page.goto("/settings/api-keys");
    await expect(page.getByText("Copy it now")).toHaveCount(0);
    await expect(page.getByRole("main")).not.toContainText(token);

    await tokenRow(page, "e2e-no-js").getByRole("button", { name: "Revoke e2e-no-js" }).click();
    await expect(page).toHaveURL(/\/settings\/api-keys$/);
    await expect(page.getByText("Token “e2e-no-js” revoked.")).toBeVisible();
    // Shown once: the flash cookie was cleared by the page that showed it.
    await page.reload();
    await expect(page.getByText("Token “e2e-no-js” revoked.")).toHaveCount(0);
    await expect(tokenRow(page, "e2e-no-js")).toContainText("revoked");
    expect((await page.request.get("/api/me", { headers: { Authorization: `Bearer ${token}` } })).status()).toBe(401);
  });

  test("shows validation errors inline", async ({ page }) => {
    await signIn(page);
    await page.getByRole("button", { name: "Create" }).click();
    await expect(page.getByText("Enter a name")).toBeVisible();
    await expect(page.getByLabel("Name")).toHaveAttribute("aria-invalid", "true");
  });
});
