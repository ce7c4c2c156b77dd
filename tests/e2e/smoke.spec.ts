import { OWNER_EMAIL, OWNER_PASSWORD, setupOwner } from "../support/http";
import { expect, test } from "./fixtures";

test("a first visit goes to the setup page, which asks for the setup code", async ({ page, freshServer }) => {
  await page.goto(`${freshServer.url}/`);
  await expect(page).toHaveURL(/\/setup$/);
  await expect(page.getByRole("heading", { name: "Set up PreqStation" })).toBeVisible();
  await expect(page.getByLabel("Setup code")).toBeVisible();
});

test("with JavaScript, the sign-in page hydrates under the CSP without a single violation", async ({ page, freshServer }) => {
  await setupOwner(freshServer);
  const problems: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error" || /Content Security Policy/i.test(msg.text())) problems.push(msg.text());
  });
  page.on("pageerror", (error) => problems.push(error.message));

  await page.goto(`${freshServer.url}/login`);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await page.waitForLoadState("networkidle");

  // Hydrated: the form now submits through Remix's client (a fetch to /login.data), not a document POST.
  const dataRequest = page.waitForRequest((r) => r.method() === "POST" && new URL(r.url()).pathname === "/login.data");
  await page.getByLabel("Email").fill(OWNER_EMAIL);
  await page.getByLabel("Password").fill(OWNER_PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await dataRequest;
  await expect(page).toHaveURL(/\/tasks$/);
  await expect(page.getByRole("button", { name: "Sign out" })).toBeVisible();

  // Signing out with JavaScript ends the session too.
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  expect((await page.context().cookies()).find((c) => c.name === "session")).toBeUndefined();
  expect(problems).toEqual([]);
});
