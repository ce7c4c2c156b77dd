/**
 * Playwright fixtures: `server` is a real production server on a fresh database,
 * started once per worker (so specs in one worker share it: create the owner only
 * when it does not exist yet). `freshServer` is a server of the test's own, started
 * for that test alone, for specs that need a "no owner yet" instance. Below them,
 * the steps several specs take the same way: signing in, minting a token, calling the API.
 */
import { expect, test as base, type Page } from "@playwright/test";
import { OWNER_EMAIL, OWNER_PASSWORD } from "../support/http";
import { runCli, startServer, type TestServer } from "../support/server";

export const test = base.extend<{ baseURL: string; freshServer: TestServer }, { server: TestServer }>({
  server: [
    // eslint-disable-next-line no-empty-pattern
    async ({}, use) => {
      const server = await startServer();
      await use(server);
      await server.stop();
    },
    { scope: "worker" },
  ],
  baseURL: async ({ server }, use) => {
    await use(server.url);
  },
  // eslint-disable-next-line no-empty-pattern
  freshServer: async ({}, use) => {
    const server = await startServer();
    await use(server);
    await server.stop();
  },
});

export { expect };

/** Signs the owner in through the login form and waits for the board it lands on. */
export async function signIn(page: Page, server: TestServer, password = OWNER_PASSWORD) {
  await page.goto(`${server.url}/login`);
  await page.getByLabel("Email").fill(OWNER_EMAIL);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/tasks$/);
}

/** Creates an API token with the admin CLI and returns its plaintext. */
export async function createToken(server: TestServer, name: string): Promise<string> {
  const created = await runCli(["token", "create", "--name", name], { dbPath: server.dbPath });
  expect(created.code, created.stderr).toBe(0);
  return created.stdout.trim();
}

/** Calls the API as an agent with `token`; fails the test unless the answer is a success. */
export async function api(server: TestServer, token: string, method: string, path: string, body: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status, `${method} ${path}`).toBeLessThan(300);
  return res.json();
}

/**
 * With JavaScript on, waits until Remix has hydrated the page, so a click is handled by
 * the router (a single-fetch POST to `<path>.data`) and not by the browser's own form
 * submission. A no-op without JavaScript.
 */
export async function hydrated(page: Page, javaScriptEnabled: boolean) {
  if (!javaScriptEnabled) return;
  await page.waitForFunction(() => {
    const router = (window as unknown as { __remixRouter?: { state: { initialized: boolean } } }).__remixRouter;
    return router?.state.initialized === true;
  });
}

/**
 * The next POST the page sends for the route at `pathname`: to `pathname` itself without
 * JavaScript, to `pathname.data` (Remix single fetch) with it. Fails the test when the
 * request goes to the other one, so a JavaScript test cannot silently fall back to a
 * plain form post.
 */
export function nextPost(page: Page, pathname: string, javaScriptEnabled: boolean) {
  const expected = javaScriptEnabled ? `${pathname}.data` : pathname;
  return page.waitForResponse((r) => {
    if (r.request().method() !== "POST") return false;
    const p = new URL(r.url()).pathname;
    if (p !== pathname && p !== `${pathname}.data`) return false;
    expect(p, "with JavaScript the form posts through single fetch").toBe(expected);
    return true;
  });
}
