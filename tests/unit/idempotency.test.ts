import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ApiError } from "../../app/lib/api/route.server";
import { migrate, openDatabase, type OpenedDatabase } from "~/lib/db.server";
import { parseIdempotencyKey } from "../../app/lib/api/idempotency.server";
import { IDEMPOTENCY_TTL_MS, requestHash, withIdempotency as withIdempotencyIn } from "../../app/lib/command/idempotency.server";
import { DomainError } from "../../app/lib/domain/errors";
import { cmd } from "../support/kit";

let opened: OpenedDatabase;
beforeEach(async () => {
  opened = openDatabase(":memory:");
  await migrate(opened.db);
});
afterEach(() => opened.db.destroy());

/** The domain's idempotent create with the test command deps; `now` as the claim's field, as before. */
function withIdempotency(
  db: OpenedDatabase["db"],
  claim: { tokenId: number; key: string; requestHash: string; now?: number },
  create: () => Promise<{ status: number; headers: Record<string, string>; body: string }>,
) {
  const { now, ...rest } = claim;
  return withIdempotencyIn(cmd(db)[0], rest, create, now).then(({ reply, replayed }) => ({ response: reply, replayed }));
}

function creator() {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    run: async () => {
      calls += 1;
      return { status: 201, headers: { Location: `/x/${calls}` }, body: JSON.stringify({ n: calls }) };
    },
  };
}

describe("idempotency keys", () => {
  it("replays the first response for the same key and body without running the creation again", async () => {
    const c = creator();
    const hash = requestHash("POST", "/api/tasks", '{"title":"a"}');
    const first = await withIdempotency(opened.db, { tokenId: 1, key: "k", requestHash: hash }, c.run);
    const second = await withIdempotency(opened.db, { tokenId: 1, key: "k", requestHash: hash }, c.run);
    expect(first.replayed).toBe(false);
    expect(second).toEqual({ replayed: true, response: first.response });
    expect(c.calls).toBe(1);
  });

  it("refuses the same key with another body with 409, and keeps keys apart per token", async () => {
    const c = creator();
    await withIdempotency(opened.db, { tokenId: 1, key: "k", requestHash: "a" }, c.run);
    const error = await withIdempotency(opened.db, { tokenId: 1, key: "k", requestHash: "b" }, c.run).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe("CONFLICT");
    const other = await withIdempotency(opened.db, { tokenId: 2, key: "k", requestHash: "b" }, c.run);
    expect(other.replayed).toBe(false);
    expect(c.calls).toBe(2);
  });

  it("lets concurrent duplicates create only once", async () => {
    const c = creator();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => withIdempotency(opened.db, { tokenId: 1, key: "k", requestHash: "h" }, c.run)),
    );
    expect(c.calls).toBe(1);
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
  });

  it("forgets a key after 24 hours and purges the expired record", async () => {
    const c = creator();
    const t0 = Date.parse("2026-01-01T00:00:00Z");
    await withIdempotency(opened.db, { tokenId: 1, key: "k", requestHash: "a", now: t0 }, c.run);
    const later = await withIdempotency(
      opened.db,
      { tokenId: 1, key: "k", requestHash: "b", now: t0 + IDEMPOTENCY_TTL_MS + 1 },
      c.run,
    );
    expect(later.replayed).toBe(false);
    expect(c.calls).toBe(2);
    expect(await opened.db.selectFrom("idempotency_keys").selectAll().execute()).toHaveLength(1);
  });

  it("does not store anything when the creation fails", async () => {
    const failing = () => Promise.reject(new ApiError("VALIDATION_ERROR", "bad"));
    await expect(withIdempotency(opened.db, { tokenId: 1, key: "k", requestHash: "a" }, failing)).rejects.toBeInstanceOf(
      ApiError,
    );
    expect(await opened.db.selectFrom("idempotency_keys").selectAll().execute()).toHaveLength(0);
  });

  it("accepts 1–255 visible ASCII characters as a key", () => {
    const req = (v?: string) => new Request("http://x/", { headers: v === undefined ? {} : { "Idempotency-Key": v } });
    expect(parseIdempotencyKey(req())).toBeNull();
    expect(parseIdempotencyKey(req("abc-123"))).toBe("abc-123");
    expect(() => parseIdempotencyKey(req("a".repeat(256)))).toThrow(ApiError);
    expect(() => parseIdempotencyKey(req("has space"))).toThrow(ApiError);
  });
});
