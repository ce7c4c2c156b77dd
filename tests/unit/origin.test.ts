import { describe, expect, it } from "vitest";
import { safeRedirectPath } from "../../app/lib/http/owner-session.server";
import { checkEndpointOrigin, checkSameOrigin, isValidHost, requestOrigin } from "../../app/lib/http/origin.server";

const post = (headers: Record<string, string>) => new Request("http://127.0.0.1:3000/login", { method: "POST", headers });

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
    const check = checkSameOrigin(
      post({ Origin: "https://evil.example", "Sec-Fetch-Site": "same-origin", Referer: "http://127.0.0.1:3000/login" }),
      [],
    );
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

describe("the /mcp check against DNS rebinding", () => {
  const mcp = (url: string, headers: Record<string, string> = {}) => new Request(url, { method: "POST", headers });
  const none = { publicOrigin: null, allowedOrigins: [] };
  const pub = { publicOrigin: "https://preq.example.com", allowedOrigins: ["https://console.example.net"] };

  it("with nothing configured, accepts no Origin or the request's own, and refuses any other", () => {
    expect(checkEndpointOrigin(mcp("http://127.0.0.1:3000/mcp"), none)).toEqual({ ok: true });
    expect(checkEndpointOrigin(mcp("http://127.0.0.1:3000/mcp", { Origin: "http://127.0.0.1:3000" }), none)).toEqual({
      ok: true,
    });
    expect(checkEndpointOrigin(mcp("http://127.0.0.1:3000/mcp", { Origin: "https://evil.example" }), none)).toEqual({
      ok: false,
      reason: "origin_mismatch",
      seen: "https://evil.example",
    });
  });

  it("with PUBLIC_ORIGIN, refuses every request for another host, Origin or not", () => {
    for (const url of ["http://evil.example:3000/mcp", "http://127.0.0.1:3000/mcp", "http://preq.example.com:8443/mcp"]) {
      const host = new URL(url).host;
      expect(checkEndpointOrigin(mcp(url), pub), url).toEqual({ ok: false, reason: "host_mismatch", seen: host });
      expect(checkEndpointOrigin(mcp(url, { Origin: new URL(url).origin }), pub).ok, url).toBe(false);
    }
  });

  it("with PUBLIC_ORIGIN, serves its host (default port folded) to agents and to the configured origins only", () => {
    for (const url of ["http://preq.example.com/mcp", "http://preq.example.com:443/mcp", "https://preq.example.com/mcp"]) {
      expect(checkEndpointOrigin(mcp(url), pub), url).toEqual({ ok: true });
      expect(checkEndpointOrigin(mcp(url, { Origin: "https://preq.example.com" }), pub), url).toEqual({ ok: true });
      expect(checkEndpointOrigin(mcp(url, { Origin: "https://console.example.net" }), pub), url).toEqual({ ok: true });
    }
    for (const origin of ["http://preq.example.com", "https://evil.example", "null"]) {
      expect(checkEndpointOrigin(mcp("http://preq.example.com/mcp", { Origin: origin }), pub), origin).toMatchObject({
        ok: false,
        reason: "origin_mismatch",
      });
    }
  });

  it("with ALLOWED_ORIGINS only, trusts a browser's Origin only when it is listed", () => {
    const listed = { publicOrigin: null, allowedOrigins: ["https://preq.example.com"] };
    const rebound = mcp("http://evil.example:3000/mcp", { Origin: "http://evil.example:3000" });
    expect(checkEndpointOrigin(rebound, listed)).toMatchObject({ ok: false, reason: "origin_mismatch" });
    expect(checkEndpointOrigin(mcp("http://evil.example:3000/mcp"), listed)).toEqual({ ok: true });
    expect(checkEndpointOrigin(mcp("http://x:3000/mcp", { Origin: "https://preq.example.com" }), listed)).toEqual({ ok: true });
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
    expect(safeRedirectPath(target)).toBe("/tasks");
  });

  it("never targets the sign-in, sign-out or setup pages", () => {
    for (const target of ["/login", "/logout", "/setup?x=1"]) expect(safeRedirectPath(target, "/")).toBe("/");
  });

  it("ignores anything that is not a string", () => {
    expect(safeRedirectPath(undefined)).toBe("/tasks");
    expect(safeRedirectPath(["/a"])).toBe("/tasks");
  });
});

describe("the Host header", () => {
  it("accepts hostname[:port]: DNS names, IPv4, bracketed IPv6", () => {
    for (const host of [
      "localhost",
      "localhost:3000",
      "127.0.0.1:3000",
      "preq.example.com",
      "preq.example.com.",
      "my_host-1.lan:65535",
      "[::1]",
      "[::1]:3000",
      "[2001:db8::ffff:1.2.3.4]:8443",
    ]) {
      expect(isValidHost(host), host).toBe(true);
    }
  });

  it("refuses anything that could carry a path, a query, credentials or a second authority", () => {
    for (const host of [
      "127.0.0.1:3000/settings/api-keys?",
      "x/assets/app.js?",
      "user:pw@x",
      "x@y",
      "x?y",
      "x#y",
      "x\\y",
      "x y",
      "x%2fy",
      "",
      ":3000",
      "x:",
      "x:65536",
      "x:123456",
      "x:3000:1",
      "[::1",
      "::1",
      "[::1]x",
      "[fe80::1%eth0]",
      "[zz::1]",
      "a..b",
      ".a",
      `${"a".repeat(64)}.example`,
      `${"a.".repeat(127)}ab`,
    ]) {
      expect(isValidHost(host), host).toBe(false);
    }
  });
});

describe("the request's origin", () => {
  const input = (extra: Partial<Parameters<typeof requestOrigin>[0]> = {}) => ({
    host: "127.0.0.1:3000",
    forwardedHost: undefined,
    forwardedProto: undefined,
    target: "/api/health",
    encrypted: false,
    ...extra,
  });

  it("is the Host header and the socket's scheme without TRUST_PROXY, whatever the forwarded headers say", () => {
    expect(requestOrigin(input({ forwardedHost: "evil.example/x?", forwardedProto: "https" }), false)).toEqual({
      ok: true,
      protocol: "http:",
      host: "127.0.0.1:3000",
    });
  });

  it("takes the last X-Forwarded-Host and X-Forwarded-Proto entries with TRUST_PROXY", () => {
    expect(
      requestOrigin(input({ forwardedHost: "client.example, preq.example.com", forwardedProto: "http, HTTPS" }), true),
    ).toEqual({
      ok: true,
      protocol: "https:",
      host: "preq.example.com",
    });
    expect(requestOrigin(input({ forwardedProto: "gopher" }), true)).toEqual({
      ok: true,
      protocol: "http:",
      host: "127.0.0.1:3000",
    });
  });

  it("is refused when the Host, the trusted X-Forwarded-Host or the request target could choose the routed path", () => {
    expect(requestOrigin(input({ host: "127.0.0.1:3000/settings/api-keys?" }), false)).toEqual({
      ok: false,
      reason: "invalid_host",
    });
    expect(requestOrigin(input({ host: "user:pw@x" }), true)).toEqual({ ok: false, reason: "invalid_host" });
    expect(requestOrigin(input({ forwardedHost: "preq.example.com/assets/app.js?" }), true)).toEqual({
      ok: false,
      reason: "invalid_forwarded_host",
    });
    expect(requestOrigin(input({ forwardedHost: "" }), true)).toEqual({ ok: false, reason: "invalid_forwarded_host" });
    for (const target of ["http://evil.example/x", "@evil.example/x", "*", "", undefined]) {
      expect(requestOrigin(input({ target }), false), String(target)).toEqual({ ok: false, reason: "invalid_target" });
    }
  });
});
