import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeCursor, encodeCursor } from "../../app/lib/tasks/tasks.server";

describe("the list cursor", () => {
  it("round-trips every position and is URL-safe", () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date("2000-01-01"), max: new Date("2999-12-31"), noInvalidDate: true }),
        fc.uuid(),
        (date, id) => {
          const position = { updatedAt: date.toISOString(), id };
          const cursor = encodeCursor(position);
          expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
          expect(decodeCursor(cursor)).toEqual(position);
        },
      ),
    );
  });

  it("refuses anything it did not issue", () => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const id = "0b6f2c1e-8f3a-4c1d-9e2b-123456789abc";
    for (const bad of [
      "",
      "!!!",
      "a".repeat(500),
      b64({ v: 1, u: "2026-11-27T23:00:00.000Z" }),
      b64({ v: 2, u: "2026-11-27T23:00:00.000Z", i: id }),
      b64({ v: 1, u: "2026-11-27", i: id }),
      b64({ v: 1, u: "2026-02-30T00:00:00.000Z", i: id }),
      b64({ v: 1, u: "2026-11-27T23:00:00.000Z", i: "x' or 1=1 --" }),
      b64([1, 2]),
      b64(null),
      Buffer.from("not json").toString("base64url"),
    ]) {
      expect(decodeCursor(bad), bad).toBeNull();
    }
  });

  it("never throws on arbitrary strings", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        const decoded = decodeCursor(s);
        expect(decoded === null || typeof decoded.id === "string").toBe(true);
      }),
    );
  });
});
