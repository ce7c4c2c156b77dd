import { expect, test } from "./fixtures";

test("a first visit goes to the setup page, which asks for the setup code", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/setup$/);
  await expect(page.getByRole("heading", { name: "Set up PreqStation" })).toBeVisible();
  await expect(page.getByLabel("Setup code")).toBeVisible();
});
