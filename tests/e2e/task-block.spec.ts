/**
 * The task page's Block in Chromium, with and without JavaScript (issue 22, item 10):
 * an agent's result written after the page was loaded is never lost. The Block form
 * carries the version the page showed; a stale one is refused inline with what changed
 * and the reason kept, and blocking again keeps the agent's result beside the reason.
 * With JavaScript the live-update stream is cut, so the agent's write lands unseen,
 * as it does in the moment between a page's last refresh and the owner's click.
 */
import type { Page } from "@playwright/test";
import { setupOwner } from "../support/http";
import type { TestServer } from "../support/server";
import { api, createToken, expect, signIn, test } from "./fixtures";

async function raceAndBlock(page: Page, server: TestServer) {
  await setupOwner(server);
  const token = await createToken(server, "racing-agent");
  await api(server, token, "POST", "/api/projects", { name: "Race", project_key: "RACE" });
  await api(server, token, "POST", "/api/tasks", { project_key: "RACE", title: "Contested", status: "todo" });
  await signIn(page, server);
  await page.goto(`${server.url}/tasks/RACE-1`);
  await expect(page.getByRole("heading", { level: 1, name: /RACE-1 Contested/ })).toBeVisible();

  await page.getByLabel("Reason for blocking (optional)").fill("waiting on design");
  // The agent reports its result after the owner opened the page.
  await api(server, token, "PATCH", "/api/tasks/RACE-1", { result: { summary: "agent's summary" } });
  await page.getByRole("button", { name: "Block (→ hold)" }).click();

  const alert = page.getByRole("alert").filter({ hasText: "It was not blocked" });
  await expect(alert).toContainText("This task changed since the page was loaded (version 1, now 2)");
  await expect(alert).toContainText("token “racing-agent”");
  await expect(page.getByLabel("Reason for blocking (optional)")).toHaveValue("waiting on design");
  const unchanged = await (
    await fetch(`${server.url}/api/tasks/RACE-1`, { headers: { Authorization: `Bearer ${token}` } })
  ).json();
  expect(unchanged.task).toMatchObject({
    status: "todo",
    version: 2,
    block_reason: null,
    result: { summary: "agent's summary" },
  });

  // Having seen the change, the owner blocks again: the agent's result stays beside the reason.
  await page.getByRole("button", { name: "Block (→ hold)" }).click();
  await expect(page.getByText("Blocked because")).toBeVisible();
  await expect(page.getByRole("definition").filter({ hasText: "waiting on design" })).toBeVisible();
  await expect(page.getByRole("region", { name: "Latest result" })).toContainText("agent's summary");
  const blocked = await (await fetch(`${server.url}/api/tasks/RACE-1`, { headers: { Authorization: `Bearer ${token}` } })).json();
  expect(blocked.task).toMatchObject({
    status: "hold",
    version: 3,
    block_reason: "waiting on design",
    result: { summary: "agent's summary" },
  });
}

test.describe("with JavaScript", () => {
  test("a Block posted after an agent's unseen result is refused with what changed, then blocks without losing it", async ({
    page,
    freshServer: server,
  }) => {
    await page.route("**/tasks/events", (route) => route.abort());
    await raceAndBlock(page, server);
  });
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });
  test("a Block posted after an agent's result is refused with what changed, then blocks without losing it", async ({
    page,
    freshServer: server,
  }) => {
    await raceAndBlock(page, server);
  });
});
