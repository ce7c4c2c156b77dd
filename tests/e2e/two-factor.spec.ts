/**
 * The second factor in Chromium. Without JavaScript: TOTP enrolment (the secret read
 * from the page, codes computed with otpauth) and the two-step sign-in end to end.
 * With JavaScript: a passkey registered through Chromium's virtual authenticator
 * (CDP WebAuthn domain: resident keys, user verification) and "Sign in with a passkey".
 * The passkey spec uses http://localhost: a secure context, and a host name a
 * relying-party id can be (an IP address cannot).
 */
import * as OTPAuth from "otpauth";
import { OWNER_EMAIL, OWNER_PASSWORD, setupOwner } from "../support/http";
import { expect, test } from "./fixtures";

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("TOTP enrolment and the two-step sign-in, end to end", async ({ page, context, freshServer: server }) => {
    const session = await setupOwner(server);
    await context.addCookies([{ name: "session", value: session.slice("session=".length), url: server.url }]);
    await page.goto(`${server.url}/settings/two-factor`);
    await expect(page.getByRole("link", { name: "Two-factor" })).toBeVisible();
    await expect(page.getByText("Adding a passkey needs JavaScript")).toBeVisible();
    await page.getByRole("button", { name: "Set up an authenticator app" }).click();
    await expect(page.getByRole("img", { name: /QR code/ })).toBeVisible();
    const uri = (await page.getByLabel("otpauth URI").textContent())!;
    expect(uri).toMatch(/^otpauth:\/\/totp\/PreqStation:owner@example\.com\?secret=[A-Z2-7]+&issuer=PreqStation$/);
    const totp = OTPAuth.URI.parse(uri) as OTPAuth.TOTP;
    await page.getByLabel("Code from the app").fill(totp.generate());
    await page.getByRole("button", { name: "Turn on TOTP" }).click();
    await expect(page.getByRole("heading", { name: /TOTP is on/ })).toBeVisible();
    await expect(page.getByRole("list", { name: "Recovery codes" }).getByRole("listitem")).toHaveCount(10);

    await context.clearCookies();
    await page.goto(`${server.url}/login?redirectTo=%2Fsettings%2Ftwo-factor`);
    await page.getByLabel("Email").fill(OWNER_EMAIL);
    await page.getByLabel("Password").fill(OWNER_PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.getByRole("heading", { name: "Two-factor authentication" })).toBeVisible();
    expect((await context.cookies()).some((c) => c.name === "session")).toBe(false);
    expect((await context.cookies()).find((c) => c.name === "login_challenge")).toMatchObject({
      httpOnly: true,
      sameSite: "Strict",
      path: "/login",
    });
    // The enrolment used the current step: the next one is fresh.
    await page.getByLabel("Code").fill(totp.generate({ timestamp: Date.now() + 30_000 }));
    await page.getByRole("button", { name: "Verify" }).click();
    await expect(page).toHaveURL(`${server.url}/settings/two-factor`);
    await expect(page.getByText("Recovery codes left:")).toBeVisible();
    expect((await context.cookies()).some((c) => c.name === "session")).toBe(true);
  });
});

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
