/**
 * The second factor in Chromium, every flow with JavaScript on (forms post to
 * `<path>.data` through Remix single fetch) and off (plain form posts): TOTP enrolment
 * (the secret read from the page, codes computed with otpauth), the two-step sign-in
 * with a TOTP code and with a recovery code, `redirectTo` kept through the code step.
 * With JavaScript only: a passkey registered through Chromium's virtual authenticator
 * (CDP WebAuthn domain: resident keys, user verification) and "Sign in with a passkey".
 * The passkey spec uses http://localhost: a secure context, and a host name a
 * relying-party id can be (an IP address cannot).
 */
import type { BrowserContext, Page } from "@playwright/test";
import * as OTPAuth from "otpauth";
import { OWNER_EMAIL, OWNER_PASSWORD, setupOwner } from "../support/http";
import type { TestServer } from "../support/server";
import { expect, hydrated, nextPost, test } from "./fixtures";

/** Turns TOTP on through the page; returns the TOTP (for codes) and the 10 recovery codes shown once. */
async function enrolTotp(page: Page, context: BrowserContext, server: TestServer, js: boolean) {
  const session = await setupOwner(server);
  await context.addCookies([{ name: "session", value: session.slice("session=".length), url: server.url }]);
  await page.goto(`${server.url}/settings/two-factor`);
  await hydrated(page, js);
  await page.getByRole("button", { name: "Set up an authenticator app" }).click();
  await expect(page.getByRole("img", { name: /QR code/ })).toBeVisible();
  const uri = (await page.getByLabel("otpauth URI").textContent())!;
  expect(uri).toMatch(/^otpauth:\/\/totp\/PreqStation:owner@example\.com\?secret=[A-Z2-7]+&issuer=PreqStation$/);
  const totp = OTPAuth.URI.parse(uri) as OTPAuth.TOTP;
  await page.getByLabel("Code from the app").fill(totp.generate());
  const confirmed = nextPost(page, "/settings/two-factor", js);
  await page.getByRole("button", { name: "Turn on TOTP" }).click();
  expect((await confirmed).status()).toBe(200);
  await expect(page.getByRole("heading", { name: /TOTP is on/ })).toBeVisible();
  const items = page.getByRole("list", { name: "Recovery codes" }).getByRole("listitem");
  await expect(items).toHaveCount(10);
  return { totp, recoveryCodes: (await items.allTextContents()).map((c) => c.trim()) };
}

/** Signs out (drops every cookie), then enters the password on `/login?redirectTo=<back>`: the page asks for the code. */
async function passwordStep(page: Page, context: BrowserContext, server: TestServer, js: boolean, back: string) {
  await context.clearCookies();
  await page.goto(`${server.url}/login?redirectTo=${encodeURIComponent(back)}`);
  await hydrated(page, js);
  await page.getByLabel("Email").fill(OWNER_EMAIL);
  await page.getByLabel("Password").fill(OWNER_PASSWORD);
  const posted = nextPost(page, "/login", js);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  expect((await posted).status()).toBe(200);
  await expect(page.getByRole("heading", { name: "Two-factor authentication" })).toBeVisible();
  expect((await context.cookies()).some((c) => c.name === "session")).toBe(false);
  // Scoped by name and key, not by path: Path=/login would never reach /login.data.
  expect((await context.cookies()).find((c) => c.name === "login_challenge")).toMatchObject({
    httpOnly: true,
    sameSite: "Strict",
    path: "/",
  });
}

/** Enters `code` on the code step; resolves to the POST's response. */
async function codeStep(page: Page, js: boolean, code: string) {
  await page.getByLabel("Code").fill(code);
  const posted = nextPost(page, "/login", js);
  await page.getByRole("button", { name: "Verify" }).click();
  return posted;
}

for (const js of [true, false]) {
  test.describe(js ? "with JavaScript" : "without JavaScript", () => {
    test.use({ javaScriptEnabled: js });

    test("TOTP enrolment and the two-step sign-in, end to end, back to redirectTo", async ({
      page,
      context,
      freshServer: server,
    }) => {
      const { totp } = await enrolTotp(page, context, server, js);
      await passwordStep(page, context, server, js, "/settings/two-factor");
      // The enrolment used the current step: the next one is fresh.
      await codeStep(page, js, totp.generate({ timestamp: Date.now() + 30_000 }));
      await expect(page).toHaveURL(`${server.url}/settings/two-factor`);
      await expect(page.getByText("Recovery codes left:")).toBeVisible();
      const cookies = await context.cookies();
      expect(cookies.some((c) => c.name === "session")).toBe(true);
      expect(cookies.some((c) => c.name === "login_challenge")).toBe(false);
    });

    test("a recovery code signs in once, back to redirectTo; used again it is refused", async ({
      page,
      context,
      freshServer: server,
    }) => {
      const { recoveryCodes } = await enrolTotp(page, context, server, js);
      const code = recoveryCodes[3]!;
      await passwordStep(page, context, server, js, "/settings/sessions?x=1");
      await codeStep(page, js, code);
      await expect(page).toHaveURL(`${server.url}/settings/sessions?x=1`);
      await page.goto(`${server.url}/settings/two-factor`);
      await expect(page.getByText("Recovery codes left: 9 of 10.")).toBeVisible();

      await passwordStep(page, context, server, js, "/settings/sessions?x=1");
      const again = await codeStep(page, js, code);
      expect(again.status()).toBe(401);
      await expect(page.getByRole("alert")).toContainText("That code is not correct.");
      // Still on the code step, and the next right code still goes back to redirectTo.
      await codeStep(page, js, recoveryCodes[4]!);
      await expect(page).toHaveURL(`${server.url}/settings/sessions?x=1`);
    });
  });
}

test.describe("with JavaScript", () => {
  test("a passkey registered with the virtual authenticator signs in on its own", async ({
    page,
    context,
    freshServer: server,
  }) => {
    const origin = `http://localhost:${server.port}`;
    await setupOwner(server);
    const cdp = await context.newCDPSession(page);
    await cdp.send("WebAuthn.enable");
    const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: {
        protocol: "ctap2",
        transport: "internal",
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
      },
    });

    await page.goto(`${origin}/login`);
    await page.getByLabel("Email").fill(OWNER_EMAIL);
    await page.getByLabel("Password").fill(OWNER_PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page).toHaveURL(`${origin}/tasks`);

    await page.goto(`${origin}/settings/two-factor`);
    await page.getByLabel("Passkey name").fill("Virtual key");
    await page.getByRole("button", { name: "Add a passkey" }).click();
    await expect(page.getByRole("cell", { name: "Virtual key", exact: true })).toBeVisible();
    await expect(page.getByText("Passkey “Virtual key” added.")).toBeVisible();
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
    expect(credentials).toHaveLength(1);
    expect(credentials[0]!.isResidentCredential).toBe(true);

    await context.clearCookies();
    await page.goto(`${origin}/login?redirectTo=%2Fsettings%2Ftwo-factor`);
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await expect(page).toHaveURL(`${origin}/settings/two-factor`);
    await expect(page.getByRole("row", { name: /Virtual key/ })).not.toContainText("never");
    expect((await context.cookies(origin)).some((c) => c.name === "session")).toBe(true);
  });
});
