/** The kit's signed-in browser against the production server: set up once, signed in after that. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signedIn } from "../support/kit";
import { getPage } from "../support/http";
import { startServer, type TestServer } from "../support/server";

describe("signedIn(server)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("creates the owner through /setup the first time and signs in through /login after that, each with its own session", async () => {
    const first = await signedIn(server);
    const second = await signedIn(server);
    expect(first.get("session")).toBeTruthy();
    expect(second.get("session")).toBeTruthy();
    expect(second.get("session")).not.toBe(first.get("session"));
    for (const browser of [first, second]) {
      const res = await browser.page("/settings");
      expect(res.status).toBe(200);
    }
    expect((await getPage(server, "/settings")).status).toBe(302); // no cookie: not signed in
  });

  it("keeps the cookies a response sets and forgets a cleared one (sign-out)", async () => {
    const browser = await signedIn(server);
    const out = await browser.post("/logout", {});
    expect(out.status).toBe(302);
    expect(browser.get("session")).toBeUndefined();
    expect((await browser.page("/settings")).status).toBe(302);
  });
});
