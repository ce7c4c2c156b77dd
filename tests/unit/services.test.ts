import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../app/lib/env.server";
import { createServices, PRUNE_INTERVAL_MS } from "../../app/server/services.server";

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

afterEach(() => {
  vi.useRealTimers();
});

describe("Services.close", () => {
  it("stops the hourly security-event prune and closes the database; a second close is harmless", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preq-services-"));
    try {
      const services = await createServices(
        loadConfig({ DATABASE_PATH: path.join(dir, "t.db"), SESSION_SECRET: "unit-test-session-secret-0123456789abcdef" }),
        { logger: quiet },
      );
      expect(vi.getTimerCount()).toBe(1); // the prune timer
      await services.close();
      expect(vi.getTimerCount()).toBe(0);
      // Were it still there, this would run a prune on the closed database.
      vi.advanceTimersByTime(PRUNE_INTERVAL_MS * 2);
      await expect(services.db.selectFrom("owners").select("id").execute()).rejects.toThrow();
      await expect(services.close()).resolves.toBeUndefined();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
