/**
 * Playwright fixtures: `server` is a real production server on a fresh database,
 * started once per worker (so specs in one worker share it: create the owner only
 * when it does not exist yet). `freshServer` is a server of the test's own, started
 * for that test alone, for specs that need a "no owner yet" instance.
 */
import { test as base } from "@playwright/test";
import { startServer, type TestServer } from "../support/server";

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

export { expect } from "@playwright/test";
