import path from "node:path";
import { defineConfig } from "vitest/config";

/**
 * The resilience suite (`npm run test:resilience`): each test starts the real
 * production server as a child process and misbehaves at it (SIGKILL, SIGTERM, a full
 * disk, hostile sockets, contention). Files run one at a time so that one test's load
 * never skews another's latency bounds on a 2-core machine.
 */
export default defineConfig({
  resolve: { alias: { "~": path.resolve(__dirname, "app") } },
  test: {
    include: ["tests/resilience/**/*.test.ts"],
    environment: "node",
    globalSetup: ["tests/support/global-setup.ts"],
    testTimeout: 90_000,
    hookTimeout: 60_000,
    pool: "forks",
    fileParallelism: false,
    maxWorkers: 1,
  },
});
