import { describe, expect, it } from "vitest";
import { safeRedirectPath } from "~/lib/auth.server";
import { checkSameOrigin } from "~/lib/origin.server";

const post = (headers: Record<string, string>) =>
  new Request("http://127.0.0.1:3000/login", { method: "POST", headers });

describe("the same-origin check on page mutations", () => {
  it("accepts the server's own origin, and an ALLOWED_ORIGINS one", () => {
    expect(checkSameOrigin(post({ Origin: "http://127.0.0.1:3000" }), [])).toEqual({ ok: true });
    expect(checkSameOrigin(post({ Origin: "https://preq.example.com" }), ["https://preq.example.com"])).toEqual({ ok: true });
  });

  it("refuses another origin, a null origin, and another port of the same host", () => {
    for (const origin of ["https://evil.example", "null", "http://127.0.0.1:3001", "http://localhost:3000"]) {
      expect(checkSameOrigin(post({ Origin: origin }), []), origin).toMatchObject({ ok: false, reason: "origin_mismatch" });
    }
  });

  it("trusts Origin over Sec-Fetch-Site and Referer when it is present", () => {
    const check = checkSameOrigin(post({ Origin: "https://evil.example", "Sec-Fetch-Site": "same-origin", Referer: "http://127.0.0.1:3000/login" }), []);
    expect(check.ok).toBe(false);
  });

  it("falls back to Sec-Fetch-Site, accepting only same-origin", () => {
    expect(checkSameOrigin(post({ "Sec-Fetch-Site": "same-origin" }), [])).toEqual({ ok: true });
    for (const site of ["same-site", "cross-site", "none"]) {
      expect(checkSameOrigin(post({ "Sec-Fetch-Site": site }), []).ok, site).toBe(false);
    }
  });

  it("falls back to the Referer's origin last", () => {
    expect(checkSameOrigin(post({ Referer: "http://127.0.0.1:3000/login?x=1" }), [])).toEqual({ ok: true });
    expect(checkSameOrigin(post({ Referer: "https://evil.example/http://127.0.0.1:3000/" }), []).ok).toBe(false);
    expect(checkSameOrigin(post({ Referer: "not a url" }), []).ok).toBe(false);
  });

  it("refuses a request with none of the three headers", () => {
    expect(checkSameOrigin(post({}), [])).toEqual({ ok: false, reason: "no_origin_headers", seen: null });
  });
});

describe("the sign-in redirect target", () => {
  it("keeps same-site paths with their query", () => {
    expect(safeRedirectPath("/settings/audit-logs?actor=owner")).toBe("/settings/audit-logs?actor=owner");
    expect(safeRedirectPath("/settings/sessions#top")).toBe("/settings/sessions#top");
  });

  it.each([
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https://evil.example/",
    "http:/evil.example",
    "javascript:alert(1)",
    "/\t/evil.example",
    "/\n/evil.example",
    "/a/..//evil.example",
    "/%2e%2e//evil.example",
    "evil.example",
    "",
  ])("sends %j to the fallback instead", (target) => {
    expect(safeRedirectPath(target)).toBe("/settings/api-keys");
  });

  it("never targets the sign-in, sign-out or setup pages", () => {
    for (const target of ["/login", "/logout", "/setup?x=1"]) expect(safeRedirectPath(target, "/")).toBe("/");
  });

  it("ignores anything that is not a string", () => {
    expect(safeRedirectPath(undefined)).toBe("/settings/api-keys");
    expect(safeRedirectPath(["/a"])).toBe("/settings/api-keys");
  });
});
