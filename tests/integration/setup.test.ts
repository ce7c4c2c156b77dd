/** Owner setup through /setup on the real server (contract §1 and §3). */
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { getPage, OWNER_PASSWORD, postForm, sessionCookieFrom } from "../support/http";
import { runCli, startServer } from "../support/server";

const form = (code: string, email = "owner@example.com") => ({
  setup_code: code,
  email,
  password: OWNER_PASSWORD,
  password_confirm: OWNER_PASSWORD,
});

function count(dbPath: string, sql: string): number {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.prepare(sql).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe("/setup", () => {
  it("creates exactly one owner when two setups with the right code race", async () => {
    const server = await startServer();
    try {
      const results = await Promise.all([
        postForm(server, "/setup", form(server.setupCode!, "first@example.com")),
        postForm(server, "/setup", form(server.setupCode!, "second@example.com")),
        postForm(server, "/setup", form(server.setupCode!, "third@example.com")),
      ]);
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toEqual([302, 404, 404]);
      expect(results.filter((r) => sessionCookieFrom(r))).toHaveLength(1);
      expect(count(server.dbPath, "select count(*) as n from owners")).toBe(1);
    } finally {
      await server.stop();
    }
  });

  it("refuses a wrong code inline, throttles guessing, and is 404 for GET and POST once the owner exists", async () => {
    const server = await startServer({ env: { LOGIN_RATE_LIMIT: "2/1m" } });
    try {
      const wrong = await postForm(server, "/setup", form("AAAAA-BBBBB-CCCCC"));
      expect(wrong.status).toBe(400);
      expect(await wrong.text()).toContain("That is not the setup code shown in the server log");
      expect(sessionCookieFrom(wrong)).toBeNull();
      expect((await postForm(server, "/setup", form("AAAAA-BBBBB-CCCCD"))).status).toBe(400);
      const throttled = await postForm(server, "/setup", form(server.setupCode!));
      expect(throttled.status).toBe(429); // even the right code waits once guessing has been throttled
      expect(Number(throttled.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(count(server.dbPath, "select count(*) as n from owners")).toBe(0);
      expect(
        count(server.dbPath, "select sum(count) as n from security_events where type = 'setup' and outcome = 'failure'"),
      ).toBe(2);

      // The owner is created another way (the CLI) while the server runs: the code is dead at once.
      const cli = await runCli(["owner", "create", "--email", "cli@example.com"], {
        dbPath: server.dbPath,
        input: `${OWNER_PASSWORD}\n`,
      });
      expect(cli.code).toBe(0);
      expect((await getPage(server, "/setup")).status).toBe(404);
      expect((await postForm(server, "/setup", form(server.setupCode!))).status).toBe(404);
      expect(count(server.dbPath, "select count(*) as n from owners")).toBe(1);
      expect(count(server.dbPath, "select count(*) as n from security_events where type = 'setup' and outcome = 'blocked'")).toBe(
        1,
      );
    } finally {
      await server.stop();
    }
  });

  it("sends a first visitor to /setup and signs the new owner in", async () => {
    const server = await startServer();
    try {
      const home = await getPage(server, "/");
      expect(home.headers.get("location")).toBe("/setup");
      expect((await getPage(server, "/login")).headers.get("location")).toBe("/setup");
      const created = await postForm(server, "/setup", form(server.setupCode!));
      expect(created.status).toBe(302);
      expect(created.headers.get("location")).toBe("/settings/api-keys");
      const cookie = sessionCookieFrom(created)!;
      expect((await getPage(server, "/", cookie)).headers.get("location")).toBe("/tasks");
      expect((await getPage(server, "/")).headers.get("location")).toBe("/login");
      const db = new Database(server.dbPath, { readonly: true });
      const owner = db.prepare("select email, password_hash from owners").get() as { email: string; password_hash: string };
      db.close();
      expect(owner.email).toBe("owner@example.com");
      expect(owner.password_hash).toMatch(/^scrypt\$n=16384,r=8,p=5\$/);
    } finally {
      await server.stop();
    }
  });
});
