/**
 * The settings overview and Settings > Security Events against the production
 * server: the 24-hour failure count, filters, keyset paging and escaping.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordSecurityEvent } from "../../app/lib/security/events.server";
import { getPage, OWNER_EMAIL, postForm, setupOwner } from "../support/http";
import { startServer, type TestServer } from "../support/server";
import { testDatabase, type TestDatabase } from "../support/kit";

/** Event ids listed on a security events page, in page order (from the count cell's row key is not rendered: use details). */
function markersOf(html: string): string[] {
  return [...html.matchAll(/<dd class="mono">(marker-\d+)<\/dd>/g)].map((m) => m[1]!);
}

function pagerHref(html: string, rel: "next" | "prev"): string | null {
  const tag = new RegExp(`<a[^>]*rel="${rel}"[^>]*>`).exec(html)?.[0];
  const href = tag && /href="([^"]*)"/.exec(tag)?.[1];
  return href ? href.replace(/&amp;/g, "&") : null;
}

describe("settings overview and security events", () => {
  let server: TestServer;
  let cookie: string;
  let opened: TestDatabase;

  beforeAll(async () => {
    server = await startServer();
    cookie = await setupOwner(server);
    opened = await testDatabase({ path: server.dbPath });
  });
  afterAll(async () => {
    await opened?.close();
    await server?.stop();
  });

  it("shows the count of failed and blocked events of the last 24 hours on the overview", async () => {
    const before = await (await getPage(server, "/settings", cookie)).text();
    expect(before).toContain("No failed or blocked security events in the last 24 hours.");
    for (let i = 0; i < 3; i++) await postForm(server, "/login", { email: OWNER_EMAIL, password: `wrong password ${i}` });
    // A forged cross-site form is blocked (and counted).
    await postForm(server, "/logout", {}, { headers: { Origin: "https://evil.example" } });
    // An event older than 24 hours does not count.
    await recordSecurityEvent(
      opened.db,
      { type: "login", outcome: "failure", ip: "198.51.100.1", userAgent: "x", path: "/login" },
      { now: Date.now() - 2 * 86_400_000 },
    );

    const res = await getPage(server, "/settings", cookie);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("3 failed and 1 blocked security events in the last 24 hours.");
    expect(html).toMatch(/href="\/settings\/security-events\?outcome=failure&amp;from=\d{4}-\d\d-\d\dT[\d%A.]+Z"/);
    const link = /href="(\/settings\/security-events\?outcome=failure[^"]*)"/.exec(html)![1]!.replace(/&amp;/g, "&");
    const linked = await getPage(server, link, cookie);
    expect(linked.status).toBe(200);
    expect((await linked.text()).match(/<span class="badge failure">/g)?.length).toBe(3);
    for (const to of [
      "/settings/audit-logs",
      "/settings/security-events",
      "/settings/sessions",
      "/settings/security",
      "/settings/api-keys",
    ]) {
      expect(html).toContain(`href="${to}"`);
    }
  });

  it("filters security events by type, outcome and date", async () => {
    const failures = await (await getPage(server, "/settings/security-events?type=login&outcome=failure", cookie)).text();
    expect(failures.match(/<span class="badge failure">failure<\/span>/g)?.length).toBe(4);
    expect(failures).not.toContain('<span class="badge success">');
    expect(failures).not.toContain('<span class="badge blocked">');
    const blocked = await (await getPage(server, "/settings/security-events?outcome=blocked", cookie)).text();
    expect(blocked).toContain("Cross-site request blocked");
    expect(blocked).not.toContain('<span class="badge failure">');
    const today = new Date().toISOString().slice(0, 10);
    const recent = await (
      await getPage(server, `/settings/security-events?type=login&outcome=failure&from=${today}`, cookie)
    ).text();
    expect(recent.match(/<span class="badge failure">/g)?.length).toBe(3);
  });

  it("pages through security events forward and back over the same rows", async () => {
    const base = Date.parse("2026-10-01T00:00:00.000Z");
    for (let i = 0; i < 120; i++) {
      // Same created_at for pairs of events: the id breaks the tie.
      await recordSecurityEvent(
        opened.db,
        {
          type: "rate_limited",
          outcome: "blocked",
          ip: "192.0.2.1",
          userAgent: "bot",
          path: "/api/tasks",
          details: { marker: `marker-${i}` },
        },
        { now: base + Math.floor(i / 2) * 1000 },
      );
    }
    const q = "?type=rate_limited";
    const p1 = await (await getPage(server, `/settings/security-events${q}`, cookie)).text();
    const p2 = await (await getPage(server, pagerHref(p1, "next")!, cookie)).text();
    const p3 = await (await getPage(server, pagerHref(p2, "next")!, cookie)).text();
    const expected = Array.from({ length: 120 }, (_, i) => `marker-${119 - i}`);
    expect(markersOf(p1)).toEqual(expected.slice(0, 50));
    expect(markersOf(p2)).toEqual(expected.slice(50, 100));
    expect(markersOf(p3)).toEqual(expected.slice(100));
    expect(pagerHref(p3, "next")).toBeNull();
    const back2 = await (await getPage(server, pagerHref(p3, "prev")!, cookie)).text();
    expect(markersOf(back2)).toEqual(markersOf(p2));
    const back1 = await (await getPage(server, pagerHref(back2, "prev")!, cookie)).text();
    expect(markersOf(back1)).toEqual(markersOf(p1));
    expect(pagerHref(back1, "prev")).toBeNull();
  });

  it("shows coalesced repeats with their count", async () => {
    const now = Date.now();
    for (let i = 0; i < 5; i++) {
      await recordSecurityEvent(
        opened.db,
        {
          type: "bearer_auth",
          outcome: "failure",
          ip: "203.0.113.99",
          userAgent: "scanner/1",
          path: "/api/tasks",
          details: { reason: "unknown_token" },
        },
        { coalesce: true, now: now + i },
      );
    }
    const html = await (await getPage(server, "/settings/security-events?type=bearer_auth", cookie)).text();
    expect(html).toMatch(/<td>5<\/td><td class="mono">203\.0\.113\.99<\/td>/);
  });

  it("answers invalid filters with an inline message, never a 500, and escapes what it shows", async () => {
    for (const [query, message] of [
      ["?type=nope", "Choose one of the listed event types"],
      ["?outcome=maybe", "Choose success, failure or blocked"],
      ["?from=2026-99-01", "Use a date like 2026-11-27"],
      ["?cursor=before-2026-01-01T00:00:00.000Z_0", "That page link is not valid"],
      ["?cursor=before-x_1", "That page link is not valid"],
    ] as const) {
      const res = await getPage(server, `/settings/security-events${query}`, cookie);
      expect(res.status, query).toBe(400);
      expect(await res.text(), query).toContain(message);
    }
    await recordSecurityEvent(opened.db, {
      type: "login",
      outcome: "failure",
      ip: "192.0.2.5",
      userAgent: "<img src=x onerror=alert(1)>",
      path: "/login",
      details: { email: "<script>alert(1)</script>@x" },
    });
    const html = await (await getPage(server, "/settings/security-events?type=login", cookie)).text();
    expect(html).not.toContain("<script>alert(1)");
    expect(html).not.toContain("<img src=x");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;@x");
  });

  it("sends anonymous visitors to sign in", async () => {
    for (const path of ["/settings", "/settings/security-events", "/settings/sessions", "/settings/security"]) {
      const res = await getPage(server, path);
      expect(res.status, path).toBe(302);
      expect(res.headers.get("location"), path).toMatch(/^\/login\?redirectTo=/);
    }
  });
});
