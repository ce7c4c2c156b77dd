/**
 * Settings > Audit Logs against the production server: filters, keyset paging,
 * streamed CSV/NDJSON export, formula neutralisation, and the verify button
 * after the database was tampered with behind the application's back.
 */
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditKeyFileFor, loadAuditSigner, type AuditSigner } from "../../app/lib/audit/signing.server";
import { canonicalEntry, chainHash, GENESIS_HASH, type AuditContext } from "../../app/lib/audit/log.server";
import { getPage, setupOwner } from "../support/http";
import { runCli, startServer, type TestServer } from "../support/server";
import { auditInTransaction, testDatabase, type TestDatabase } from "../support/kit";

const DAY = 86_400_000;
const T0 = Date.parse("2026-11-01T12:00:00.000Z");

/** The seqs listed on an audit page, in page order. */
function seqsOf(html: string): number[] {
  return [...html.matchAll(/<summary>Entry (\d+)<\/summary>/g)].map((m) => Number(m[1]));
}

/** The href of the pager link with this rel, decoded, or null. */
function pagerHref(html: string, rel: "next" | "prev"): string | null {
  const tag = new RegExp(`<a[^>]*rel="${rel}"[^>]*>`).exec(html)?.[0];
  const href = tag && /href="([^"]*)"/.exec(tag)?.[1];
  return href ? href.replace(/&amp;/g, "&") : null;
}

/** A minimal RFC 4180 parser (quoted cells, doubled quotes, CRLF rows). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ",") {
      row.push(cell);
      cell = "";
    } else if (c === "\r" && text[i + 1] === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      i++;
    } else {
      cell += c;
    }
  }
  if (cell || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

describe("Settings > Audit Logs", () => {
  let server: TestServer;
  let cookie: string;
  let opened: TestDatabase;
  const bySeq = new Map<number, { actor: string; action: string; resourceType: string; resourceId: string; at: number }>();

  beforeAll(async () => {
    server = await startServer();
    cookie = await setupOwner(server);
    opened = await testDatabase({ path: server.dbPath });
    const owner = (await opened.db.selectFrom("owners").selectAll().executeTakeFirstOrThrow())!;
    const insertToken = (name: string, hint: string, revoked: string | null) =>
      opened.db
        .insertInto("api_tokens")
        .values({
          owner_id: owner.id,
          name,
          token_hash: `hash-${name}`,
          hint,
          scope: "full",
          created_at: new Date(T0).toISOString(),
          revoked_at: revoked,
        })
        .returning("id")
        .executeTakeFirstOrThrow();
    const deploy = await insertToken("deploy-bot", "preq_ab12…yz89", null);
    const old = await insertToken("old-laptop", "preq_cd34…wx77", new Date(T0 + DAY).toISOString());

    // The server's own key, from the file it created beside the database.
    const signer = loadAuditSigner({ auditSigningKey: null, auditKeyFile: auditKeyFileFor(server.dbPath) }, { create: false })!;
    const ctx = (type: AuditContext["actor"]["type"], id: string, label: string): AuditContext => ({
      actor: { type, id, label },
      ip: "203.0.113.7",
      userAgent: "agent/1.0",
      requestId: `req-${type}-${id}`,
      signer,
    });
    const actors = [
      ctx("token", String(deploy.id), "deploy-bot"),
      ctx("token", String(old.id), "old-laptop"),
      ctx("owner", owner.id, owner.email),
      ctx("cli", "cli", "cli (test)"),
    ];
    const actions = [
      ["task.update", "task"],
      ["task.create", "task"],
      ["project.update", "project"],
    ] as const;
    // 140 entries over 7 days; the last ones carry spreadsheet formulas.
    for (let i = 0; i < 140; i++) {
      const actor = actors[i % actors.length]!;
      const [action, resourceType] = actions[i % actions.length]!;
      const resourceId = i === 137 ? '=HYPERLINK("http://evil.example","x")' : resourceType === "task" ? `PROJ-${i % 7}` : "PROJ";
      const at = T0 + Math.floor(i / 20) * DAY + i * 1000;
      const entry = await auditInTransaction(
        opened.db,
        actor,
        { action, resourceType, resourceId, changes: { title: { before: `@old ${i}`, after: `+new ${i}` } } },
        at,
      );
      bySeq.set(entry.seq, { actor: `${actor.actor.type}:${actor.actor.id}`, action, resourceType, resourceId, at });
    }
  });

  afterAll(async () => {
    await opened?.close();
    await server?.stop();
  });

  const expected = (
    pred: (e: { actor: string; action: string; resourceType: string; resourceId: string; at: number }) => boolean,
  ) =>
    [...bySeq.entries()]
      .filter(([, e]) => pred(e))
      .map(([seq]) => seq)
      .sort((a, b) => b - a);

  async function page(query: string): Promise<{ status: number; html: string }> {
    const res = await getPage(server, `/settings/audit-logs${query}`, cookie);
    return { status: res.status, html: await res.text() };
  }

  it("sends an anonymous visitor to sign in, for the page and the export", async () => {
    const res = await getPage(server, "/settings/audit-logs?actor=owner");
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(`/login?redirectTo=${encodeURIComponent("/settings/audit-logs?actor=owner")}`);
    const exp = await getPage(server, "/settings/audit-logs/export?format=csv");
    expect(exp.status).toBe(302);
    expect(exp.headers.get("location")).toMatch(/^\/login\?redirectTo=/);
  });

  it("lists the newest 50 entries first", async () => {
    const { status, html } = await page("");
    expect(status).toBe(200);
    const all = expected(() => true);
    expect(seqsOf(html)).toEqual(all.slice(0, 50));
  });

  it("lists every token in the actor filter, revoked ones included, by name and hint", async () => {
    const { html } = await page("");
    expect(html).toContain("Token: deploy-bot (preq_ab12…yz89)");
    expect(html).toContain("Token: old-laptop (preq_cd34…wx77) — revoked");
  });

  it("narrows the list with each filter", async () => {
    const deployId = (
      await opened.db.selectFrom("api_tokens").select("id").where("name", "=", "deploy-bot").executeTakeFirstOrThrow()
    ).id;
    const cases: [string, number[]][] = [
      [`?actor=token:${deployId}`, expected((e) => e.actor === `token:${deployId}`)],
      ["?actor=owner", expected((e) => e.actor.startsWith("owner:"))],
      ["?actor=cli", expected((e) => e.actor === "cli:cli")],
      ["?action=project.update", expected((e) => e.action === "project.update")],
      ["?resource_type=project", expected((e) => e.resourceType === "project")],
      ["?resource_type=task&resource_id=PROJ-3", expected((e) => e.resourceType === "task" && e.resourceId === "PROJ-3")],
      ["?resource_id=PROJ-3", expected((e) => e.resourceId === "PROJ-3")],
      ["?from=2026-11-03&to=2026-11-04", expected((e) => e.at >= Date.parse("2026-11-03") && e.at < Date.parse("2026-11-05"))],
      ["?to=2026-11-01", expected((e) => e.at < Date.parse("2026-11-02"))],
      [
        `?actor=token:${deployId}&action=task.update&from=2026-11-02`,
        expected((e) => e.actor === `token:${deployId}` && e.action === "task.update" && e.at >= Date.parse("2026-11-02")),
      ],
    ];
    for (const [query, seqs] of cases) {
      expect(seqs.length, query).toBeGreaterThan(0);
      expect(seqs.length, query).toBeLessThan(bySeq.size);
      const { status, html } = await page(query);
      expect(status, query).toBe(200);
      expect(seqsOf(html), query).toEqual(seqs.slice(0, 50));
    }
    const none = await page("?action=task.nothing");
    expect(seqsOf(none.html)).toEqual([]);
    expect(none.html).toContain("No entries match these filters.");
  });

  it("pages forward then back through the same rows, keyset by seq", async () => {
    const first = await page("");
    const second = await page(pagerHref(first.html, "next")!.replace("/settings/audit-logs", ""));
    const third = await page(pagerHref(second.html, "next")!.replace("/settings/audit-logs", ""));
    const all = expected(() => true);
    expect(seqsOf(second.html)).toEqual(all.slice(50, 100));
    expect(seqsOf(third.html)).toEqual(all.slice(100, 150));
    expect(pagerHref(third.html, "next")).toBeNull();
    expect(pagerHref(first.html, "prev")).toBeNull();

    const backToSecond = await page(pagerHref(third.html, "prev")!.replace("/settings/audit-logs", ""));
    expect(seqsOf(backToSecond.html)).toEqual(seqsOf(second.html));
    const backToFirst = await page(pagerHref(backToSecond.html, "prev")!.replace("/settings/audit-logs", ""));
    expect(seqsOf(backToFirst.html)).toEqual(seqsOf(first.html));
    expect(pagerHref(backToFirst.html, "prev")).toBeNull();
    expect(pagerHref(first.html, "next")).toMatch(/^\/settings\/audit-logs\?cursor=before-\d+$/);
  });

  it("keeps the filters on the paging links", async () => {
    const seqs = expected((e) => e.resourceType === "task");
    expect(seqs.length).toBeGreaterThan(50);
    const first = await page("?resource_type=task");
    const next = pagerHref(first.html, "next")!;
    expect(next).toContain("resource_type=task");
    const second = await page(next.replace("/settings/audit-logs", ""));
    expect(seqsOf(second.html)).toEqual(seqs.slice(50, 100));
  });

  it("answers invalid filters with an inline message and a 400, never a 500", async () => {
    const bad: [string, string][] = [
      ["?actor=root", "Choose the owner, the CLI or one of the tokens"],
      ["?actor=token:abc", "Choose the owner, the CLI or one of the tokens"],
      ["?from=2026-02-30", "Use a date like 2026-11-27"],
      ["?from=yesterday", "Use a date like 2026-11-27"],
      ["?from=2026-11-05&to=2026-11-01", "The end date is before the start date"],
      ["?cursor=before-0", "That page link is not valid"],
      ["?cursor=%27%20or%201=1", "That page link is not valid"],
      ["?action=%3Cscript%3E", "Actions look like task.update"],
      [`?resource_id=${"x".repeat(300)}`, "A resource id is at most 200 characters"],
    ];
    for (const [query, message] of bad) {
      const { status, html } = await page(query);
      expect(status, query).toBe(400);
      expect(html, query).toContain(message);
      expect(seqsOf(html), query).toEqual([]);
    }
    const escaped = await page("?action=%3Cscript%3Ealert(1)%3C/script%3E");
    expect(escaped.html).not.toContain("<script>alert(1)");
  });

  it("exports the filtered set as CSV and NDJSON, in the page's order", async () => {
    const query = "actor=owner";
    const seqs = expected((e) => e.actor.startsWith("owner:"));
    const firstPage = seqsOf((await page(`?${query}`)).html);

    const csv = await getPage(server, `/settings/audit-logs/export?format=csv&${query}`, cookie);
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(csv.headers.get("content-disposition")).toMatch(/^attachment; filename="preqstation-audit-[\w-]+\.csv"$/);
    const rows = parseCsv(await csv.text());
    expect(rows[0]).toEqual([
      "seq",
      "created_at",
      "actor_type",
      "actor_id",
      "actor_label",
      "action",
      "resource_type",
      "resource_id",
      "changes",
      "ip",
      "user_agent",
      "request_id",
      "prev_hash",
      "hash",
      "channel",
      "signature",
    ]);
    const csvSeqs = rows.slice(1).map((r) => Number(r[0]));
    expect(csvSeqs).toEqual(seqs);
    // Each exported row carries every field its hash covers, and its signature: the export can be
    // checked against the chain away from the server.
    const header = rows[0]!;
    for (const cells of rows.slice(1)) {
      const row = Object.fromEntries(header.map((name, i) => [name, cells[i]!])) as Record<string, string>;
      const canonical = canonicalEntry({
        ...(row as unknown as Parameters<typeof canonicalEntry>[0]),
        seq: Number(row.seq),
        channel: (row.channel || null) as Parameters<typeof canonicalEntry>[0]["channel"],
      });
      expect(chainHash(row.prev_hash!, canonical), `entry ${row.seq}`).toBe(row.hash);
      expect(row.channel).toBe("web");
      // base64url may start with "-", which the CSV neutralises with a leading ' like any such cell
      expect(row.signature).toMatch(/^'?[A-Za-z0-9_-]{40,}$/);
    }
    expect(csvSeqs.slice(0, firstPage.length)).toEqual(firstPage);

    const nd = await getPage(server, `/settings/audit-logs/export?format=ndjson&${query}`, cookie);
    expect(nd.status).toBe(200);
    expect(nd.headers.get("content-type")).toBe("application/x-ndjson; charset=utf-8");
    expect(nd.headers.get("content-disposition")).toMatch(/^attachment; filename=".+\.ndjson"$/);
    const lines = (await nd.text())
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.seq)).toEqual(seqs);
    for (const line of lines)
      expect(line).toMatchObject({ channel: "web", signature: expect.stringMatching(/^[A-Za-z0-9_-]{40,}$/) });
    expect(lines[0]).toMatchObject({ actor_type: "owner", ip: "203.0.113.7", user_agent: "agent/1.0" });
    expect(lines[0].changes.title).toEqual({ before: expect.stringMatching(/^@old/), after: expect.stringMatching(/^\+new/) });
  });

  it("exports every entry when there is no filter (more than one chunk's worth is not needed to prove order)", async () => {
    const res = await getPage(server, "/settings/audit-logs/export?format=ndjson", cookie);
    const lines = (await res.text()).trimEnd().split("\n");
    expect(lines.length).toBe(bySeq.size);
  });

  it("neutralises CSV cells that a spreadsheet would run as a formula", async () => {
    const res = await getPage(server, "/settings/audit-logs/export?format=csv&resource_type=project", cookie);
    const text = await res.text();
    expect(text).toContain(`"'=HYPERLINK(""http://evil.example"",""x"")"`);
    const rows = parseCsv(text);
    const evil = rows.find((r) => r[7]!.includes("HYPERLINK"))!;
    expect(evil[7]).toBe(`'=HYPERLINK("http://evil.example","x")`);
    for (const row of rows) for (const cell of row) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
  });

  it("refuses an unknown export format or an invalid filter with a 400", async () => {
    for (const q of ["format=xlsx", "", "format=csv&from=never", "format=csv&actor=token:x"]) {
      const res = await getPage(server, `/settings/audit-logs/export?${q}`, cookie);
      expect(res.status, q).toBe(400);
    }
  });

  it("verifies the chain on demand, and names the tampered entry on the page and in the CLI", async () => {
    const ok = await page("?verify=1");
    expect(ok.html).toContain(`Chain and signatures verified up to entry ${bySeq.size}`);
    const head = await opened.db
      .selectFrom("audit_log")
      .select(["seq", "hash"])
      .orderBy("seq", "desc")
      .limit(1)
      .executeTakeFirstOrThrow();
    expect(ok.html).toContain(`<code class="secret">${head.seq}:${head.hash}</code>`);

    // Behind the application's back: drop the guard triggers and edit one row.
    const target = 37;
    const raw = new Database(server.dbPath);
    raw.exec("drop trigger audit_log_no_update; drop trigger audit_log_no_delete;");
    raw.prepare("update audit_log set resource_id = 'PROJ-999' where seq = ?").run(target);
    raw.close();

    const bad = await page("?verify=1");
    expect(bad.html).toContain(`Tampered: entry ${target} was changed after it was written. First bad entry: ${target}`);
    const cli = await runCli(["audit", "verify"], { dbPath: server.dbPath });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain(`First bad entry: ${target}`);
  });
});

/**
 * Rewrites the log as a forger with write access to the file would: drop the guard
 * triggers, apply `edit`, renumber and recompute every hash, keep the old signatures
 * (no key) or re-sign with `resign`.
 */
function forgeLog(dbPath: string, edit: (db: Database.Database) => void, resign?: AuditSigner) {
  const raw = new Database(dbPath);
  raw.exec("drop trigger if exists audit_log_no_update; drop trigger if exists audit_log_no_delete;");
  edit(raw);
  const rows = raw.prepare("select * from audit_log order by seq").all() as Record<string, unknown>[];
  raw.exec("delete from audit_log");
  const insert = raw.prepare(
    `insert into audit_log (seq, created_at, actor_type, actor_id, actor_label, action, resource_type, resource_id, changes, ip,
       user_agent, request_id, channel, prev_hash, hash, signature) values (@seq, @created_at, @actor_type, @actor_id, @actor_label,
       @action, @resource_type, @resource_id, @changes, @ip, @user_agent, @request_id, @channel, @prev_hash, @hash, @signature)`,
  );
  let prev = GENESIS_HASH;
  rows.forEach((row, i) => {
    const base = { ...row, seq: i + 1 } as Parameters<typeof canonicalEntry>[0] & { signature: string | null };
    const hash = chainHash(prev, canonicalEntry(base));
    insert.run({ ...base, prev_hash: prev, hash, signature: resign ? resign.sign(base.seq, hash) : base.signature });
    prev = hash;
  });
  raw.close();
}

describe("Verify chain against a forger who recomputes the hashes", () => {
  let server: TestServer;
  let cookie: string;

  beforeAll(async () => {
    server = await startServer();
    cookie = await setupOwner(server);
    for (const name of ["one", "two", "three", "four"]) {
      expect((await runCli(["token", "create", "--name", name], { dbPath: server.dbPath })).code).toBe(0);
    }
  });
  afterAll(() => server?.stop());

  it("the server creates its signing key 0600 beside the database", () => {
    const keyFile = path.join(path.dirname(server.dbPath), "audit-key");
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
  });

  it("an entry edited and re-chained (triggers dropped, later hashes recomputed) fails on the page and in the CLI alike", async () => {
    const before = await getPage(server, "/settings/audit-logs?verify=1", cookie);
    const okHtml = await before.text();
    const cliOk = await runCli(["audit", "verify"], { dbPath: server.dbPath });
    expect(cliOk.code).toBe(0);
    const publicKey = /^Public key: (\S+)$/m.exec(cliOk.stdout)![1]!;
    expect(okHtml).toContain(`<code class="secret">${publicKey}</code>`); // the page checks with the same key

    const count = (
      new Database(server.dbPath, { readonly: true }).prepare("select count(*) as n from audit_log").get() as { n: number }
    ).n;
    expect(count).toBeGreaterThanOrEqual(4);
    const target = count - 1;
    forgeLog(server.dbPath, (raw) => raw.prepare("update audit_log set actor_label = 'someone else' where seq = ?").run(target));

    const page = await (await getPage(server, "/settings/audit-logs?verify=1", cookie)).text();
    const reason = `entry ${target} was changed (or replaced) after it was written and the later hashes recomputed: its signature no longer matches`;
    expect(page).toContain(`Tampered: ${reason}. First bad entry: ${target}`);
    const cli = await runCli(["audit", "verify"], { dbPath: server.dbPath });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain(`Audit log TAMPERED: ${reason}. First bad entry: ${target}`);
  });
});
