/**
 * Settings > Security (password change) against the production server.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getPage, OWNER_EMAIL, OWNER_PASSWORD, postForm, setupOwner, signIn } from "../support/http";
import { startServer, type TestServer } from "../support/server";
import { testDatabase, type TestDatabase } from "../support/kit";

/** The `flash=…` pair a redirect set: the "done" notice the next page shows once. */
function flashFrom(response: Response): string {
  const set = response.headers.getSetCookie().find((c) => c.startsWith("flash="));
  if (!set) throw new Error("the response set no flash cookie");
  return set.split(";")[0]!;
}

const NEW_PASSWORD = "a brand new passphrase 42";

describe("Settings > Security: change password", () => {
  let server: TestServer;
  let opened: TestDatabase;

  beforeAll(async () => {
    server = await startServer({ env: { LOGIN_RATE_LIMIT: "4/15m" } });
    await setupOwner(server);
    opened = await testDatabase({ path: server.dbPath });
  });
  afterAll(async () => {
    await opened?.close();
    await server?.stop();
  });

  const change = (cookie: string, fields: Record<string, string>) => postForm(server, "/settings/security", fields, { cookie });

  it("validates with the setup rules and reports errors inline", async () => {
    const cookie = await signIn(server);
    const cases: [Record<string, string>, string][] = [
      [{ current_password: OWNER_PASSWORD, new_password: "short", new_password_confirm: "short" }, "Use at least 12 characters"],
      [
        { current_password: OWNER_PASSWORD, new_password: NEW_PASSWORD, new_password_confirm: `${NEW_PASSWORD}x` },
        "The new passwords do not match",
      ],
      [
        { current_password: OWNER_PASSWORD, new_password: OWNER_PASSWORD, new_password_confirm: OWNER_PASSWORD },
        "Choose a password different from the current one",
      ],
      [{ new_password: NEW_PASSWORD, new_password_confirm: NEW_PASSWORD }, "Enter your current password"],
    ];
    for (const [fields, message] of cases) {
      const res = await change(cookie, fields);
      expect(res.status, message).toBe(400);
      expect(await res.text(), message).toContain(message);
    }
  });

  it("refuses a wrong current password inline and records a failed security event", async () => {
    const cookie = await signIn(server);
    const res = await change(cookie, {
      current_password: "not my password at all",
      new_password: NEW_PASSWORD,
      new_password_confirm: NEW_PASSWORD,
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("That is not your current password");
    const event = await opened.db
      .selectFrom("security_events")
      .selectAll()
      .where("type", "=", "password_changed")
      .orderBy("id", "desc")
      .executeTakeFirstOrThrow();
    expect(event.outcome).toBe("failure");
    expect(event.details).not.toContain("not my password");
    // The password did not change.
    expect((await postForm(server, "/login", { email: OWNER_EMAIL, password: OWNER_PASSWORD })).status).toBe(302);
  });

  it("changes the password, signs out every other session and keeps this one, with an event and an audit entry", async () => {
    const mine = await signIn(server);
    const other1 = await signIn(server);
    const other2 = await signIn(server);
    const res = await change(mine, {
      current_password: OWNER_PASSWORD,
      new_password: NEW_PASSWORD,
      new_password_confirm: NEW_PASSWORD,
    });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/settings/security");

    for (const c of [other1, other2]) expect((await getPage(server, "/settings/security", c)).status).toBe(302);
    // The notice rides on the flash cookie the redirect set, and is shown once.
    const after = await getPage(server, "/settings/security", `${mine}; ${flashFrom(res)}`);
    expect(after.status).toBe(200);
    expect(await after.text()).toMatch(/Password changed at .* UTC\. \d+ other sessions were signed out\./);
    expect(after.headers.getSetCookie().some((c) => /^flash=;.*Max-Age=0/i.test(c))).toBe(true);
    expect(await (await getPage(server, "/settings/security", mine)).text()).not.toContain("Password changed");

    expect((await postForm(server, "/login", { email: OWNER_EMAIL, password: OWNER_PASSWORD })).status).toBe(401);
    expect((await postForm(server, "/login", { email: OWNER_EMAIL, password: NEW_PASSWORD })).status).toBe(302);

    const event = await opened.db
      .selectFrom("security_events")
      .selectAll()
      .where("type", "=", "password_changed")
      .where("outcome", "=", "success")
      .executeTakeFirstOrThrow();
    expect(JSON.parse(event.details).other_sessions_ended).toBeGreaterThanOrEqual(2);
    const audit = await opened.db
      .selectFrom("audit_log")
      .selectAll()
      .where("action", "=", "owner.password_change")
      .executeTakeFirstOrThrow();
    expect(audit).toMatchObject({ actor_type: "owner", resource_type: "owner" });
    const owner = await opened.db.selectFrom("owners").select(["password_hash"]).executeTakeFirstOrThrow();
    expect(audit.changes).not.toContain(owner.password_hash);
    expect(audit.changes).not.toContain(NEW_PASSWORD);
    expect(audit.changes).not.toContain("scrypt");
    expect(owner.password_hash).toMatch(/^scrypt\$/);
  });

  it("shows no confirmation for a crafted ?changed link when nothing changed recently", async () => {
    const fresh = await startServer();
    try {
      const cookie = await setupOwner(fresh);
      const html = await (await getPage(fresh, "/settings/security?changed=1", cookie)).text();
      expect(html).not.toContain("Password changed");
    } finally {
      await fresh.stop();
    }
  });

  it("throttles wrong current passwords per client IP with Retry-After", async () => {
    const cookie = await signIn(server, OWNER_EMAIL, NEW_PASSWORD);
    let last: Response | undefined;
    for (let i = 0; i < 6; i++) {
      last = await change(cookie, {
        current_password: `wrong guess number ${i}`,
        new_password: "another passphrase 77",
        new_password_confirm: "another passphrase 77",
      });
      if (last.status === 429) break;
      expect(last.status).toBe(400);
    }
    expect(last!.status).toBe(429);
    expect(Number(last!.headers.get("retry-after"))).toBeGreaterThan(0);
    // Even the right password is refused while throttled.
    const right = await change(cookie, {
      current_password: NEW_PASSWORD,
      new_password: "another passphrase 77",
      new_password_confirm: "another passphrase 77",
    });
    expect(right.status).toBe(429);
  });

  it("counts parallel wrong current passwords before checking them, so a burst cannot outrun the throttle", async () => {
    const fresh = await startServer({ env: { LOGIN_RATE_LIMIT: "3/15m" } });
    try {
      const cookie = await setupOwner(fresh);
      const guesses = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          postForm(
            fresh,
            "/settings/security",
            { current_password: `parallel guess ${i}`, new_password: NEW_PASSWORD, new_password_confirm: NEW_PASSWORD },
            { cookie },
          ),
        ),
      );
      const statuses = guesses.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 400)).toHaveLength(3);
      expect(statuses.filter((s) => s === 429)).toHaveLength(7);
    } finally {
      await fresh.stop();
    }
  });
});
