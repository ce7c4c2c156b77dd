/**
 * Every cookie is scoped by name and key, never by path (pitfall 34): with JavaScript,
 * Remix single fetch posts a form for `/login` to `/login.data`, where a `Path=/login`
 * cookie is never sent. One helper makes every cookie; this file fails when a module
 * makes one another way, or when any of them is not `Path=/`.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createDeviceCookie, newDevice, serializeDeviceCookie } from "~/lib/auth/device-cookie.server";
import { createSessionCookie } from "~/lib/auth/session.server";
import { loginChallengeCookie, setLoginChallengeCookie } from "~/lib/auth/two-factor/challenge-cookie.server";
import { scopedCookie } from "~/lib/cookies.server";
import { loadConfig } from "~/lib/env.server";
import { flashCookie, setFlash } from "~/lib/http/flash.server";
import { TEST_SESSION_SECRET } from "../support/kit";

const ROOT = path.resolve(import.meta.dirname, "../..");
const config = loadConfig({ DATABASE_PATH: ":memory:", SESSION_SECRET: TEST_SESSION_SECRET });

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return sources(rel);
    return /\.(ts|tsx|mjs|js)$/.test(e.name) ? [rel] : [];
  });
}

describe("cookie scope", () => {
  it("only app/lib/cookies.server.ts calls createCookie", () => {
    const offenders = [...sources("app"), ...sources("bin"), "main.ts"]
      .filter((f) => fs.existsSync(path.join(ROOT, f)))
      .filter((f) => f !== path.join("app", "lib", "cookies.server.ts"))
      .filter((f) => /\bcreateCookie\b|\bcreateCookieSessionStorage\b/.test(fs.readFileSync(path.join(ROOT, f), "utf8")));
    expect(offenders).toEqual([]);
  });

  it("every cookie the app sets is Path=/, HttpOnly, SameSite=Strict and Secure", async () => {
    const headers = [
      await createSessionCookie(config).cookie.serialize("sess1.x"),
      await serializeDeviceCookie(createDeviceCookie(config), newDevice("00000000-0000-4000-8000-000000000000")),
      await setFlash(config, "done"),
      await setLoginChallengeCookie(config, `lc1_${"a".repeat(43)}`),
    ];
    expect(headers.map((h) => h.split("=", 1)[0])).toEqual(["session", "device", "flash", "login_challenge"]);
    for (const header of headers) {
      const attributes = header
        .split(";")
        .slice(1)
        .map((a) => a.trim());
      expect(attributes, header).toContain("Path=/");
      expect(attributes, header).toEqual(expect.arrayContaining(["HttpOnly", "SameSite=Strict", "Secure"]));
    }
    for (const cookie of [
      loginChallengeCookie(config),
      flashCookie(config),
      scopedCookie("x", config, { keyLabel: "t", maxAgeSeconds: 1 }),
    ])
      expect(await cookie.serialize("v", { maxAge: 0 })).toMatch(/; Path=\/;/);
  });

  it("the login_challenge cookie reaches the single-fetch endpoint /login.data (RFC 6265 path-match)", async () => {
    const challengePath = /; Path=([^;]*)/.exec(await setLoginChallengeCookie(config, `lc1_${"a".repeat(43)}`))![1]!;
    // A cookie path matches a request path when equal, or a prefix ending at a "/".
    const matches = (cookiePath: string, requestPath: string) =>
      requestPath === cookiePath ||
      (requestPath.startsWith(cookiePath) && (cookiePath.endsWith("/") || requestPath[cookiePath.length] === "/"));
    expect(matches("/login", "/login.data")).toBe(false); // why Path=/login locked the owner out
    expect(matches(challengePath, "/login.data")).toBe(true);
    expect(matches(challengePath, "/login")).toBe(true);
  });
});
