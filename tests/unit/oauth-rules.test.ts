import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  hashSecret,
  isAccessToken,
  newClientId,
  newSecret,
  normaliseScope,
  redirectUriProblem,
  redirectUriRegistered,
  verifierMatches,
  ACCESS_TOKEN_PREFIX,
  CLIENT_ID_PATTERN,
  CODE_PATTERN,
  CODE_PREFIX,
  REFRESH_TOKEN_PREFIX,
} from "~/lib/oauth/rules";
import { isWellFormedToken } from "~/lib/tokens/tokens.server";

describe("OAuth redirect URIs", () => {
  it("registers https, and http only on loopback hosts, never with a fragment or credentials", () => {
    expect(redirectUriProblem("https://app.example/cb")).toBeNull();
    expect(redirectUriProblem("http://127.0.0.1:33418/callback")).toBeNull();
    expect(redirectUriProblem("http://localhost/callback")).toBeNull();
    expect(redirectUriProblem("http://[::1]:9/cb")).toBeNull();
    for (const bad of [
      "http://app.example/cb",
      "http://127.0.0.1.evil.example/cb",
      "http://localhost.evil.example/cb",
      "https://app.example/cb#x",
      "https://user:pw@app.example/cb",
      "javascript:alert(1)",
      "cursor://callback",
      "/relative",
      `https://app.example/${"a".repeat(2001)}`,
    ]) {
      expect(redirectUriProblem(bad), bad).not.toBeNull();
    }
  });

  it("matches the registered string exactly, or a loopback registration on any port, and nothing looser", () => {
    const registered = ["http://127.0.0.1:5000/callback", "https://app.example/cb?x=1"];
    expect(redirectUriRegistered("http://127.0.0.1:5000/callback", registered)).toBe(true);
    expect(redirectUriRegistered("http://127.0.0.1:61234/callback", registered)).toBe(true);
    expect(redirectUriRegistered("http://127.0.0.1/callback", registered)).toBe(true);
    expect(redirectUriRegistered("https://app.example/cb?x=1", registered)).toBe(true);
    for (const bad of [
      "http://127.0.0.1:5000/callback/",
      "http://127.0.0.1:5000/other",
      "http://127.0.0.1:5000/callback?extra=1",
      "http://localhost:5000/callback",
      "https://127.0.0.1:5000/callback",
      "https://app.example/cb",
      "https://app.example:444/cb?x=1",
      "https://app.example/cb?x=1&y=2",
      "https://evil.example/cb?x=1",
    ]) {
      expect(redirectUriRegistered(bad, registered), bad).toBe(false);
    }
  });
});

describe("OAuth scopes and PKCE", () => {
  it("normalises scopes: write implies read, none asks for both, anything unknown is refused", () => {
    expect(normaliseScope("tasks:read")).toBe("tasks:read");
    expect(normaliseScope("tasks:write")).toBe("tasks:read tasks:write");
    expect(normaliseScope("tasks:write tasks:read")).toBe("tasks:read tasks:write");
    expect(normaliseScope("")).toBe("tasks:read tasks:write");
    expect(normaliseScope(null)).toBe("tasks:read tasks:write");
    expect(normaliseScope("tasks:read admin")).toBeNull();
    expect(normaliseScope("openid")).toBeNull();
  });

  it("accepts only the verifier whose S256 hash is the challenge", () => {
    const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    // RFC 7636 appendix B.
    expect(createHash("sha256").update(verifier).digest("base64url")).toBe("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    expect(verifierMatches(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")).toBe(true);
    expect(verifierMatches(verifier.slice(0, -1) + "Y", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")).toBe(false);
    // plain (verifier = challenge) never passes, nor a too-short verifier.
    expect(verifierMatches("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")).toBe(
      false,
    );
    expect(verifierMatches("short", createHash("sha256").update("short").digest("base64url"))).toBe(false);
  });
});

describe("OAuth secrets", () => {
  it("are prefixed by kind, distinct from preq_ tokens, and stored only as SHA-256", () => {
    const access = newSecret(ACCESS_TOKEN_PREFIX);
    expect(isAccessToken(access)).toBe(true);
    expect(isWellFormedToken(access)).toBe(false);
    expect(isAccessToken(newSecret(REFRESH_TOKEN_PREFIX))).toBe(false);
    expect(CODE_PATTERN.test(newSecret(CODE_PREFIX))).toBe(true);
    expect(CLIENT_ID_PATTERN.test(newClientId())).toBe(true);
    expect(hashSecret(access)).toMatch(/^[0-9a-f]{64}$/);
    expect(newSecret(ACCESS_TOKEN_PREFIX)).not.toBe(access);
  });
});
