import path from "node:path";
import { defineConfig } from "vitest/config";

/**
 * The single-executable suite (`npm run test:sea`, part of `npm test`): builds
 * dist/preqstation if anything in it changed, then runs it from empty folders with no
 * node_modules and no `node` on PATH.
 */
export default defineConfig({
  resolve: { alias: { "~": path.resolve(__dirname, "app") } },
  test: {
    include: ["tests/sea/**/*.test.ts"],
    environment: "node",
    globalSetup: ["tests/sea/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: "forks",
    fileParallelism: false,
    maxWorkers: 1,
  },
});
