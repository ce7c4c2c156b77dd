import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createDeviceCookie, newDevice, readDevice, serializeDeviceCookie } from "../../app/lib/auth/device-cookie.server";
import { loadConfig } from "~/lib/env.server";
import { createSessionCookie, readSessionId, serializeSessionCookie } from "../../app/lib/auth/session.server";

const SECRET_A = "a".repeat(16) + "first-secret-used-to-sign-now";
const SECRET_B = "b".repeat(16) + "older-secret-still-accepted";
const config = (secrets: string[]) => loadConfig({ DATABASE_PATH: ":memory:", SESSION_SECRET: secrets.join(",") });
const pair = (setCookie: string) => setCookie.split(";")[0]!;
/** The cookie's value under another cookie name, as a client pasting it would send it. */
const renamed = (setCookie: string, name: string) => `${name}=${pair(setCookie).slice(pair(setCookie).indexOf("=") + 1)}`;

describe("device cookies", () => {
  const dc = createDeviceCookie(config([SECRET_A]));
  const device = newDevice(randomUUID());

  it("round-trips the owner and device id, with a 128-bit random id", async () => {
    const set = await serializeDeviceCookie(dc, device);
    expect(await readDevice(dc, pair(set))).toEqual(device);
    expect(Buffer.from(device.id, "base64url")).toHaveLength(16);
    expect(newDevice(device.ownerId).id).not.toBe(device.id);
  });

  it("reads a tampered, unsigned or malformed cookie as no device", async () => {
    const set = pair(await serializeDeviceCookie(dc, device));
    const flipped = `${set.slice(0, -2)}${set.at(-2) === "A" ? "B" : "A"}${set.at(-1)}`;
    for (const header of [flipped, `device=dev1.${device.ownerId}.${device.id}`, "device=", "device=%E0%A4%A", null]) {
      expect(await readDevice(dc, header)).toBeNull();
    }
  });

  it("is accepted with an older secret of the list, and refused once that secret is gone", async () => {
    const old = await serializeDeviceCookie(createDeviceCookie(config([SECRET_B])), device);
    expect(await readDevice(createDeviceCookie(config([SECRET_A, SECRET_B])), pair(old))).toEqual(device);
    expect(await readDevice(dc, pair(old))).toBeNull();
  });

  it("never passes as a session cookie, and a session cookie never passes as a device cookie", async () => {
    const cfg = config([SECRET_A]);
    const sc = createSessionCookie(cfg);
    const deviceSet = await serializeDeviceCookie(dc, device);
    expect(await readSessionId(sc, renamed(deviceSet, "session"))).toBeNull();

    const sessionSet = await serializeSessionCookie(sc, "x".repeat(43), {
      absolute_expires_at: new Date(Date.now() + 3_600_000).toISOString(),
    } as Parameters<typeof serializeSessionCookie>[2]);
    expect(await readSessionId(sc, pair(sessionSet))).toBe("x".repeat(43)); // the control: it is a valid session cookie
    expect(await readDevice(dc, renamed(sessionSet, "device"))).toBeNull();
  });
});
