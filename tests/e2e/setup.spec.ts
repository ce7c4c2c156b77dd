import { expect, hydrated, test } from "./fixtures";

const EMAIL = "first-owner@example.com";
const PASSWORD = "a long and unguessable passphrase";

for (const js of [true, false]) {
  test.describe(() => {
    test.use({ javaScriptEnabled: js });

    test(`${js ? "with" : "without"} JavaScript, the owner is created with the code from the server log and is signed in`, async ({
      page,
      context,
      freshServer,
    }) => {
      expect(freshServer.setupCode).toMatch(/^[A-Z2-9]{5}-[A-Z2-9]{5}-[A-Z2-9]{5}$/);
      await page.goto(`${freshServer.url}/`);
      await expect(page).toHaveURL(/\/setup$/);
      await hydrated(page, js);

      // A wrong code and mismatched passwords are inline errors; nothing is created.
      await page.getByLabel("Setup code").fill("AAAAA-BBBBB-CCCCC");
      await page.getByLabel("Email").fill(EMAIL);
      await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
      await page.getByLabel("Confirm password").fill(PASSWORD);
      await page.getByRole("button", { name: "Create owner" }).click();
      await expect(page.getByText("That is not the setup code shown in the server log")).toBeVisible();

      await page.getByLabel("Setup code").fill(freshServer.setupCode!);
      await page.getByLabel("Email").fill(EMAIL);
      await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
      await page.getByLabel("Confirm password").fill(`${PASSWORD}!`);
      await page.getByRole("button", { name: "Create owner" }).click();
      await expect(page.getByText("The passwords do not match")).toBeVisible();
      await expect(page.getByLabel("Confirm password")).toHaveAttribute("aria-invalid", "true");

      await page.getByLabel("Setup code").fill(freshServer.setupCode!.toLowerCase());
      await page.getByLabel("Email").fill(EMAIL);
      await page.getByLabel("Password", { exact: true }).fill("short");
      await page.getByLabel("Confirm password").fill("short");
      await page.getByRole("button", { name: "Create owner" }).click();
      await expect(page.getByText("Use at least 12 characters")).toBeVisible();
      expect((await context.cookies()).find((c) => c.name === "session")).toBeUndefined();

      await page.getByLabel("Setup code").fill(freshServer.setupCode!);
      await page.getByLabel("Email").fill(EMAIL);
      await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
      await page.getByLabel("Confirm password").fill(PASSWORD);
      await page.getByRole("button", { name: "Create owner" }).click();
      await expect(page).toHaveURL(/\/settings\/api-keys$/);
      await expect(page.getByText(EMAIL)).toBeVisible();
      expect((await context.cookies()).find((c) => c.name === "session")).toMatchObject({
        httpOnly: true,
        secure: true,
        sameSite: "Strict",
      });

      // The code is spent: the setup page no longer exists.
      const again = await page.goto(`${freshServer.url}/setup`);
      expect(again?.status()).toBe(404);
    });
  });
}
