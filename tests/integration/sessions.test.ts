/**
 * Settings > Sessions against the production server: revoking one session or
 * all others deletes the rows, so the revoked cookies are refused on their very
 * next request, and each revocation leaves a security event and an audit entry.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getPage, postForm, setupOwner } from "../support/http";
import { startServer, type TestServer } from "../support/server";
import { testDatabase, type TestDatabase } from "../support/kit";

/** The `flash=…` pair a redirect set: the "done" notice the next page shows once. */
function flashFrom(response: Response): string {
  const set = response.headers.getSetCookie().find((c) => c.startsWith("flash="));
  if (!set) throw new Error("the response set no flash cookie");
  return set.split(";")[0]!;
}

describe("Settings > Sessions", () => {
  let server: TestServer;
  let opened: TestDatabase;

  beforeAll(async () => {
    server = await startServer();
    await setupOwner(server);
    opened = await testDatabase({ path: server.dbPath });
  });
  afterAll(async () => {
    await opened?.close();
    await server?.stop();
  });

  /** Signs in with a given User-Agent; returns the cookie and the new session's public id. */
  async function newSession(userAgent: string): Promise<{ cookie: string; publicId: string }> {
    const before = new Set((await opened.db.selectFrom("sessions").select("public_id").execute()).map((r) => r.public_id));
    const res = await fetch(`${server.url}/login`, {
      method: "POST",
      redirect: "manual",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: server.origin, "User-Agent": userAgent },
      body: new URLSearchParams({ email: "owner@example.com", password: "correct horse battery staple" }).toString(),
    });
    expect(res.status).toBe(302);
    const cookie = res.headers
      .getSetCookie()
      .find((c) => c.startsWith("session="))!
      .split(";")[0]!;
    const after = await opened.db.selectFrom("sessions").select("public_id").execute();
    const publicId = after.map((r) => r.public_id).find((id) => !before.has(id))!;
    return { cookie, publicId };
  }

  const isSignedIn = async (cookie: string) => (await getPage(server, "/settings/sessions", cookie)).status === 200;

  it("lists every active session with browser, OS and IP, and marks the current one", async () => {
    const firefox = await newSession("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0");
    const safari = await newSession(
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    );
    const res = await getPage(server, "/settings/sessions", firefox.cookie);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("Firefox 133 on Windows");
    expect(html).toContain("Safari 17 on iOS");
    expect(html).toContain("127.0.0.1");
    // The current one is marked; its button signs out.
    expect(html).toMatch(/<tr aria-current="true">(?:(?!<\/tr>).)*Firefox 133 on Windows(?:(?!<\/tr>).)*This session/s);
    expect(html).toContain(`value="${safari.publicId}"`);

    // Nothing was revoked yet: a crafted confirmation link claims nothing.
    const crafted = await (await getPage(server, "/settings/sessions?revoked=5", firefox.cookie)).text();
    expect(crafted).not.toContain("Signed out");
    expect(await (await getPage(server, "/settings/sessions?revoked=0", firefox.cookie)).text()).not.toContain(
      "no other sessions",
    );
  });

  it("revokes one session: its cookie is useless at once, the revoker stays signed in, and it is audited", async () => {
    const mine = await newSession(
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    );
    const victim = await newSession("curl/8.5.0");
    expect(await isSignedIn(victim.cookie)).toBe(true);

    const res = await postForm(
      server,
      "/settings/sessions",
      { intent: "revoke", session_id: victim.publicId },
      { cookie: mine.cookie },
    );
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/settings/sessions");
    expect(await (await getPage(server, "/settings/sessions", `${mine.cookie}; ${flashFrom(res)}`)).text()).toContain(
      "Signed out 1 session.",
    );

    const replay = await getPage(server, "/settings/sessions", victim.cookie);
    expect(replay.status).toBe(302);
    expect(replay.headers.get("location")).toMatch(/^\/login\?redirectTo=/);
    expect(await isSignedIn(mine.cookie)).toBe(true);
    expect(await opened.db.selectFrom("sessions").where("public_id", "=", victim.publicId).selectAll().execute()).toEqual([]);

    const audit = await opened.db
      .selectFrom("audit_log")
      .selectAll()
      .where("action", "=", "session.revoke")
      .where("resource_id", "=", victim.publicId)
      .execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor_type: "owner", actor_label: "owner@example.com", resource_type: "session" });
    const event = await opened.db
      .selectFrom("security_events")
      .selectAll()
      .where("type", "=", "session_revoked")
      .orderBy("id", "desc")
      .executeTakeFirstOrThrow();
    expect(event.outcome).toBe("success");
    expect(JSON.parse(event.details)).toMatchObject({ session: victim.publicId, current: false });
  });

  it("revokes every other session but keeps the current one", async () => {
    const keep = await newSession("keeper");
    const others = [await newSession("other-1"), await newSession("other-2")];
    const res = await postForm(server, "/settings/sessions", { intent: "revoke-others" }, { cookie: keep.cookie });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/settings/sessions");
    for (const o of others) expect(await isSignedIn(o.cookie)).toBe(false);
    expect(await isSignedIn(keep.cookie)).toBe(true);
    const left = await opened.db.selectFrom("sessions").select("public_id").execute();
    expect(left.map((s) => s.public_id)).toEqual([keep.publicId]);

    const audit = await opened.db
      .selectFrom("audit_log")
      .selectAll()
      .where("action", "=", "session.revoke_others")
      .executeTakeFirstOrThrow();
    expect(audit.actor_type).toBe("owner");
    const revokedIds = JSON.parse(audit.changes).other_sessions.before as string[];
    for (const o of others) expect(revokedIds).toContain(o.publicId);
    expect(revokedIds).not.toContain(keep.publicId);

    const page = await (await getPage(server, res.headers.get("location")!, `${keep.cookie}; ${flashFrom(res)}`)).text();
    expect(page).toContain(`Signed out ${revokedIds.length} sessions.`);
    expect(page).toContain("This is your only session.");

    const again = await postForm(server, "/settings/sessions", { intent: "revoke-others" }, { cookie: keep.cookie });
    expect(again.headers.get("location")).toBe("/settings/sessions");
    expect(await (await getPage(server, "/settings/sessions", `${keep.cookie}; ${flashFrom(again)}`)).text()).toContain(
      "There were no other sessions to sign out.",
    );
    expect(
      await opened.db.selectFrom("audit_log").where("action", "=", "session.revoke_others").select("seq").execute(),
    ).toHaveLength(1);
  });

  it("revoking the current session signs this browser out", async () => {
    const me = await newSession("self");
    const res = await postForm(
      server,
      "/settings/sessions",
      { intent: "revoke", session_id: me.publicId },
      { cookie: me.cookie },
    );
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/login");
    expect(
      res.headers.getSetCookie().some((c) => /^session=;.*Max-Age=0/i.test(c) || /^session=;.*Expires=Thu, 01 Jan 1970/i.test(c)),
    ).toBe(true);
    expect(await isSignedIn(me.cookie)).toBe(false);
  });

  it("answers an unknown session, a bad id or intent with an inline error, never a 500", async () => {
    const me = await newSession("probe");
    const gone = await postForm(
      server,
      "/settings/sessions",
      { intent: "revoke", session_id: "AAAAAAAAAAAAAAAA" },
      { cookie: me.cookie },
    );
    expect(gone.status).toBe(404);
    expect(await gone.text()).toContain("That session has already ended.");
    for (const fields of [{ intent: "revoke" }, { intent: "revoke", session_id: "<x>" }, { intent: "explode" }, {}]) {
      const res = await postForm(server, "/settings/sessions", fields as Record<string, string>, { cookie: me.cookie });
      expect(res.status, JSON.stringify(fields)).toBe(400);
    }
    expect(await isSignedIn(me.cookie)).toBe(true);
  });

  it("cannot be used without a session or from another site", async () => {
    const anon = await postForm(server, "/settings/sessions", { intent: "revoke-others" });
    expect(anon.status).toBe(302);
    expect(anon.headers.get("location")).toMatch(/^\/login/);
    const me = await newSession("csrf-target");
    const other = await newSession("bystander");
    const forged = await postForm(
      server,
      "/settings/sessions",
      { intent: "revoke-others" },
      { cookie: me.cookie, headers: { Origin: "https://evil.example" } },
    );
    expect(forged.status).toBe(403);
    expect(await isSignedIn(other.cookie)).toBe(true);
  });
});
