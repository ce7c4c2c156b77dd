import type { BrowserContext, Page, Response } from "@playwright/test";
import { getPage, OWNER_EMAIL, OWNER_PASSWORD, setupOwner } from "../support/http";
import type { TestServer } from "../support/server";
import { expect, hydrated, nextPost, test } from "./fixtures";

// Every sign-in spec runs twice: without JavaScript (plain forms, plain redirects) and
// with it (Remix single fetch: the form posts to /login.data, a redirect is a 202).

test.beforeEach(async ({ server }) => {
  if ((await getPage(server, "/setup")).status !== 404) await setupOwner(server);
});

async function submitSignIn(page: Page, server: TestServer, password: string, js: boolean): Promise<Response> {
  await page.goto(`${server.url}/login`);
  await hydrated(page, js);
  await page.getByLabel("Email").fill(OWNER_EMAIL);
  await page.getByLabel("Password").fill(password);
  const post = nextPost(page, "/login", js);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  return post;
}

async function sessionCookie(context: BrowserContext) {
  return (await context.cookies()).find((c) => c.name === "session");
}

for (const js of [true, false]) {
  test.describe(js ? "with JavaScript" : "without JavaScript", () => {
    test.use({ javaScriptEnabled: js });

    test("a wrong password shows an error and sets no cookie", async ({ page, context, server }) => {
      const response = await submitSignIn(page, server, "definitely not the password", js);
      expect(response.status()).toBe(401);
      expect(await response.headerValue("set-cookie")).toBeNull();
      await expect(page.getByRole("alert")).toHaveText("Incorrect email or password.");
      await expect(page.getByLabel("Email")).toHaveValue(OWNER_EMAIL);
      await expect(page.getByLabel("Password")).toHaveValue("");
      expect(await sessionCookie(context)).toBeUndefined();
    });

    test("signing in sets the session cookie with the contract's flags, and a later page view re-sends it", async ({
      page,
      context,
      server,
    }) => {
      const response = await submitSignIn(page, server, OWNER_PASSWORD, js);
      // Single fetch answers a redirect with 202 and the target in its body; the cookies are the same.
      expect(response.status()).toBe(js ? 202 : 302);
      // Playwright joins several Set-Cookie headers with newlines: the session's, and the device cookie's.
      const sets = (await response.headerValue("set-cookie"))!.split("\n");
      const header = sets.find((c) => c.startsWith("session="))!;
      const attributes = header
        .split(";")
        .slice(1)
        .map((a) => a.trim())
        .sort();
      expect(attributes).toEqual(["HttpOnly", "Max-Age=86400", "Path=/", "SameSite=Strict", "Secure"]);
      expect(sets.find((c) => c.startsWith("device="))).toContain("Max-Age=31536000");
      expect((await context.cookies()).find((c) => c.name === "device")).toMatchObject({
        httpOnly: true,
        secure: true,
        sameSite: "Strict",
        path: "/",
      });
      await expect(page).toHaveURL(/\/tasks$/);
      await expect(page.getByText(OWNER_EMAIL)).toBeVisible();

      const first = (await sessionCookie(context))!;
      expect(first).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict", path: "/" });
      const lifetime = first.expires - Date.now() / 1000;
      expect(lifetime).toBeGreaterThan(86_400 - 60);
      expect(lifetime).toBeLessThanOrEqual(86_400 + 1);

      await page.waitForTimeout(2_100); // Max-Age counts in whole seconds
      const resent: string[] = [];
      page.on("response", async (r) => {
        const set = await r.headerValue("set-cookie");
        if (set?.startsWith("session=")) resent.push(set);
      });
      await page.goto(`${server.url}/`);
      await expect(page).toHaveURL(/\/tasks$/);
      expect(resent.length).toBeGreaterThan(0);
      expect(resent[0]).toContain("Max-Age=86400");
      const later = (await sessionCookie(context))!;
      expect(later.value).toBe(first.value);
      expect(later.expires).toBeGreaterThan(first.expires + 1);
    });

    test("after signing out, the old cookie value replayed gets the sign-in page", async ({ page, context, server }) => {
      await submitSignIn(page, server, OWNER_PASSWORD, js);
      await expect(page).toHaveURL(/\/tasks$/);
      const old = (await sessionCookie(context))!;

      await page.getByRole("button", { name: "Sign out" }).click();
      await expect(page).toHaveURL(/\/login$/);
      expect(await sessionCookie(context)).toBeUndefined();

      await context.addCookies([old]);
      await page.goto(`${server.url}/settings`);
      await expect(page).toHaveURL(/\/login\?redirectTo=%2Fsettings$/);
      await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
      await expect(page.getByRole("button", { name: "Sign out" })).toHaveCount(0);
    });

    test(`a cross-origin POST to /login${js ? ".data" : ""} is a 403, even with the right password`, async ({
      page,
      context,
      server,
    }) => {
      // A form on another origin (an opaque one here) that posts to the sign-in page.
      await page.setContent(
        `<form method="post" action="${server.url}/login">
           <input name="email" value="${OWNER_EMAIL}"><input name="password" value="${OWNER_PASSWORD}">
           <button type="submit">Go</button>
         </form>`,
      );
      const post = page.waitForResponse((r) => r.request().method() === "POST");
      await page.getByRole("button", { name: "Go" }).click();
      const response = await post;
      expect(response.status()).toBe(403);
      await expect(page.getByRole("heading", { name: "Request blocked" })).toBeVisible();
      expect(await sessionCookie(context)).toBeUndefined();

      // The same forgery against the single-fetch endpoint a JavaScript form posts to.
      const forged = await page.request.post(`${server.url}/login${js ? ".data" : ""}`, {
        headers: { Origin: "https://evil.example" },
        form: { email: OWNER_EMAIL, password: OWNER_PASSWORD },
        maxRedirects: 0,
      });
      expect(forged.status()).toBe(403);
      expect(forged.headers()["set-cookie"]).toBeUndefined();
    });
  });
}
