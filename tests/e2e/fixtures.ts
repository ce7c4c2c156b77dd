/**
 * Playwright fixtures: `server` is a real production server on a fresh database,
 * one per test file (worker-scoped per file via `test.describe.configure` is not
 * needed: each file gets its own worker state through `serverPerFile`).
 */
import { test as base } from "@playwright/test";
import { startServer, type TestServer } from "../support/server";

export const test = base.extend<{ baseURL: string }, { server: TestServer }>({
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
});

export { expect } from "@playwright/test";
