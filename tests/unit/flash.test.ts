import { describe, expect, it } from "vitest";
import { createDeviceCookie, readDevice } from "../../app/lib/auth/device-cookie.server";
import { createSessionCookie, readSessionId } from "../../app/lib/auth/session.server";
import { loadConfig } from "../../app/lib/env.server";
import { FLASH_MAX_AGE_SECONDS, MAX_FLASH_TEXT, readFlash, setFlash } from "../../app/lib/http/flash.server";

const SECRET = "unit-test-session-secret-0123456789abcdef";
const config = loadConfig({ DATABASE_PATH: ":memory:", SESSION_SECRET: SECRET });
const pair = (setCookie: string) => setCookie.split(";")[0]!;
const get = (cookie?: string) => new Request("http://localhost/settings/security", { headers: cookie ? { Cookie: cookie } : {} });
/** The cookie's value under another name, as a client pasting it would send it. */
const renamed = (setCookie: string, name: string) => `${name}=${pair(setCookie).slice(pair(setCookie).indexOf("=") + 1)}`;

describe("flash notices", () => {
  it("carries the text to the next request, which clears it (shown once)", async () => {
    const set = await setFlash(config, "Signed out 2 sessions.");
    const first = await readFlash(get(`session=abc; ${pair(set)}`), config);
    expect(first.text).toBe("Signed out 2 sessions.");
    const cleared = first.headers.getSetCookie();
    expect(cleared).toHaveLength(1);
    expect(cleared[0]).toMatch(/^flash=; Max-Age=0;.*Path=\//);
    // The browser drops it; the next page has nothing to show.
    expect((await readFlash(get("session=abc"), config)).text).toBeNull();
  });

  it("is HttpOnly, SameSite=Strict, Path=/ and short-lived; Secure per COOKIE_SECURE", async () => {
    const set = await setFlash(config, "x");
    expect(set).toContain("HttpOnly");
    expect(set).toContain("SameSite=Strict");
    expect(set).toContain("Path=/");
    expect(set).toContain(`Max-Age=${FLASH_MAX_AGE_SECONDS}`);
    expect(set).toContain("; Secure"); // COOKIE_SECURE defaults to true
    const plain = loadConfig({ DATABASE_PATH: ":memory:", SESSION_SECRET: SECRET, COOKIE_SECURE: "false" });
    expect(await setFlash(plain, "x")).not.toContain("Secure");
  });

  it("ignores a tampered, unsigned or foreign-key flash, and still clears it", async () => {
    const set = pair(await setFlash(config, "Password changed."));
    const flipped = `${set.slice(0, -2)}${set.at(-2) === "A" ? "B" : "A"}${set.at(-1)}`;
    const unsigned = `flash=${Buffer.from(JSON.stringify("flash1.Password changed.")).toString("base64")}`;
    const otherKey = pair(
      await setFlash(
        loadConfig({ DATABASE_PATH: ":memory:", SESSION_SECRET: "another-secret-entirely-0123456789" }),
        "Password changed.",
      ),
    );
    for (const cookie of [flipped, unsigned, otherKey, "flash=", "flash=%E0%A4%A"]) {
      const read = await readFlash(get(cookie), config);
      expect(read.text, cookie).toBeNull();
      expect(read.headers.getSetCookie(), cookie).toHaveLength(1);
    }
  });

  it("is never a session or device cookie, and neither of those is a flash", async () => {
    const flash = await setFlash(config, `sess1.${"A".repeat(43)}`);
    expect(await readSessionId(createSessionCookie(config), renamed(flash, "session"))).toBeNull();
    expect(await readDevice(createDeviceCookie(config), renamed(flash, "device"))).toBeNull();
    const session = await createSessionCookie(config).cookie.serialize(`sess1.${"A".repeat(43)}`);
    expect((await readFlash(get(renamed(session, "flash")), config)).text).toBeNull();
  });

  it("sets nothing when no flash was sent, and caps the text", async () => {
    const none = await readFlash(get("session=abc"), config);
    expect(none.text).toBeNull();
    expect(none.headers.getSetCookie()).toEqual([]);
    const long = await readFlash(get(pair(await setFlash(config, "x".repeat(1000)))), config);
    expect(long.text).toHaveLength(MAX_FLASH_TEXT);
  });
});
