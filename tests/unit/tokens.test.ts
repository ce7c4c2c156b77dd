import { beforeEach, describe, expect, it } from "vitest";
import type { AuditContext } from "../../app/lib/audit/log.server";
import { verifyAuditChain } from "../../app/lib/audit/log.server";
import type { OpenedDatabase } from "~/lib/db.server";
import {
  createApiToken,
  findTokenByPlaintext,
  generateToken,
  hashToken,
  listApiTokens,
  revokeApiToken,
  TOKEN_ALPHABET,
  TOKEN_PATTERN,
  tokenHint,
  tokenStatus,
  touchTokenUsage,
} from "../../app/lib/tokens/tokens.server";
import { testAuditSigner } from "../support/audit-key";
import { cmd, testDatabase } from "../support/kit";

const audit: AuditContext = {
  actor: { type: "owner", id: "owner-1", label: "owner@example.com" },
  ip: "192.0.2.10",
  userAgent: "Firefox",
  requestId: "req-1",
  signer: testAuditSigner,
};

let opened: OpenedDatabase;
beforeEach(async () => {
  opened = await testDatabase();
});

describe("token format", () => {
  it("is preq_ followed by 32 characters of A-Z a-z 0-9", () => {
    for (let i = 0; i < 1000; i++) {
      const token = generateToken();
      expect(token).toMatch(/^preq_[A-Za-z0-9]{32}$/);
      expect(TOKEN_PATTERN.test(token)).toBe(true);
    }
    expect(TOKEN_ALPHABET).toHaveLength(62);
    expect(new Set(TOKEN_ALPHABET).size).toBe(62);
  });

  it("every alphabet character is used and no two tokens repeat", () => {
    const seen = new Set<string>();
    const tokens = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const t = generateToken();
      tokens.add(t);
      for (const c of t.slice(5)) seen.add(c);
    }
    expect(tokens.size).toBe(2000);
    expect([...seen].sort().join("")).toBe([...TOKEN_ALPHABET].sort().join(""));
  });

  it("rejects bytes 248-255 instead of folding them onto the first characters (no modulo bias)", () => {
    // Feed bytes that a naive `byte % 62` would map to 'A'..'H' (248..255 -> 0..7).
    let call = 0;
    const fake = (size: number) => {
      call += 1;
      const b = Buffer.alloc(size);
      for (let i = 0; i < size; i++) b[i] = call === 1 ? 248 + (i % 8) : 61; // then all '9'
      return b;
    };
    expect(generateToken(fake)).toBe(`preq_${"9".repeat(32)}`);
    expect(call).toBeGreaterThan(1);
  });

  it("draws each character uniformly: a chi-square test over 640 000 characters passes", () => {
    const counts = new Map<string, number>();
    const n = 20_000;
    for (let i = 0; i < n; i++) for (const c of generateToken().slice(5)) counts.set(c, (counts.get(c) ?? 0) + 1);
    const total = n * 32;
    const expected = total / 62;
    let chi2 = 0;
    for (const c of TOKEN_ALPHABET) chi2 += ((counts.get(c) ?? 0) - expected) ** 2 / expected;
    // 61 degrees of freedom: p = 0.0001 at about 113. A `% 62` bias on 248..255 gives
    // 'A'..'H' a 5/256 vs 4/256 share, a chi-square in the thousands at this size.
    expect(chi2).toBeLessThan(113);
    // And the bias a modulo draw would show: the first 8 characters are not over-represented.
    const firstEight = [...TOKEN_ALPHABET.slice(0, 8)].reduce((s, c) => s + (counts.get(c) ?? 0), 0) / 8;
    const rest = [...TOKEN_ALPHABET.slice(8)].reduce((s, c) => s + (counts.get(c) ?? 0), 0) / 54;
    expect(Math.abs(firstEight / rest - 1)).toBeLessThan(0.03); // bias would be 0.25
  });

  it("hashes to SHA-256 hex and hints as preq_ab12…yz89", () => {
    const token = "preq_ab12CDEFGHIJKLMNOPQRSTUVWXyz89";
    expect(hashToken(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken(token)).toBe("5e5a8b9c45795565f1fcb62203e74884261a9ea4e9e41e5b8d76d477bc9245d3"); // sha256sum of the same string
    expect(tokenHint(token)).toBe("preq_ab12…yz89");
  });
});

describe("creating, finding and revoking tokens", () => {
  it("stores only the hash and the hint, finds the row by the plaintext's hash", async () => {
    const { plaintext, summary } = await createApiToken(...cmd(opened.db, audit), {
      ownerId: "owner-1",
      name: "local-dev",
      scope: "full",
      expiresInDays: null,
    });
    const row = await opened.db.selectFrom("api_tokens").selectAll().executeTakeFirstOrThrow();
    expect(row.token_hash).toBe(hashToken(plaintext));
    expect(row.hint).toBe(tokenHint(plaintext));
    expect(Object.values(row)).not.toContain(plaintext);
    expect(summary).not.toHaveProperty("token_hash");
    expect(summary).not.toHaveProperty("owner_id");
    expect((await findTokenByPlaintext(opened.db, plaintext))?.id).toBe(summary.id);
    expect(await findTokenByPlaintext(opened.db, generateToken())).toBeUndefined();
    expect(await findTokenByPlaintext(opened.db, "preq_short")).toBeUndefined();
  });

  it("writes an api_token.create audit entry with no secret in it, in the same transaction", async () => {
    const { plaintext, summary } = await createApiToken(
      ...cmd(opened.db, audit),
      { ownerId: "owner-1", name: "ci", scope: "read", expiresInDays: 30 },
      Date.parse("2026-01-01T00:00:00.000Z"),
    );
    expect(summary.expires_at).toBe("2026-01-31T00:00:00.000Z");
    const [entry, ...more] = await opened.db.selectFrom("audit_log").selectAll().execute();
    expect(more).toHaveLength(0);
    expect(entry).toMatchObject({
      action: "api_token.create",
      resource_type: "api_token",
      resource_id: String(summary.id),
      actor_type: "owner",
      actor_id: "owner-1",
      actor_label: "owner@example.com",
      ip: "192.0.2.10",
      user_agent: "Firefox",
      request_id: "req-1",
    });
    expect(JSON.parse(entry!.changes)).toMatchObject({
      name: { before: null, after: "ci" },
      scope: { before: null, after: "read" },
    });
    expect(entry!.changes).not.toContain(plaintext);
    expect(entry!.changes).not.toContain(hashToken(plaintext));
  });

  it("a failed audit write rolls the token back with it", async () => {
    await opened.db.schema.alterTable("audit_log").renameTo("audit_log_gone").execute();
    await expect(
      createApiToken(...cmd(opened.db, audit), { ownerId: "owner-1", name: "x", scope: "full", expiresInDays: null }),
    ).rejects.toThrow();
    const rows = await opened.db.selectFrom("api_tokens").selectAll().execute();
    expect(rows).toHaveLength(0);
  });

  it("validates name length, scope and expiry", async () => {
    const base = { ownerId: "owner-1", scope: "full" as const, expiresInDays: null, audit };
    await expect(createApiToken(...cmd(opened.db), { ...base, name: "" })).rejects.toThrow();
    await expect(createApiToken(...cmd(opened.db), { ...base, name: "x".repeat(65) })).rejects.toThrow();
    await expect(createApiToken(...cmd(opened.db), { ...base, name: "x".repeat(64) })).resolves.toBeTruthy();
    await expect(createApiToken(...cmd(opened.db), { ...base, name: "ok", expiresInDays: 0 })).rejects.toThrow();
    await expect(createApiToken(...cmd(opened.db), { ...base, name: "ok", expiresInDays: 3651 })).rejects.toThrow();
    await expect(createApiToken(...cmd(opened.db), { ...base, name: "ok", scope: "admin" as never })).rejects.toThrow();
  });

  it("revoking twice keeps the first revoked_at and audits once; another owner's token is not found", async () => {
    const { summary } = await createApiToken(...cmd(opened.db, audit), {
      ownerId: "owner-1",
      name: "a",
      scope: "full",
      expiresInDays: null,
    });
    const first = await revokeApiToken(
      ...cmd(opened.db, audit),
      { ownerId: "owner-1", id: summary.id },
      Date.parse("2026-02-01T00:00:00.000Z"),
    );
    expect(first).toMatchObject({ outcome: "revoked", summary: { status: "revoked", revoked_at: "2026-02-01T00:00:00.000Z" } });
    const second = await revokeApiToken(
      ...cmd(opened.db, audit),
      { ownerId: "owner-1", id: summary.id },
      Date.parse("2026-03-01T00:00:00.000Z"),
    );
    expect(second).toMatchObject({ outcome: "already_revoked", summary: { revoked_at: "2026-02-01T00:00:00.000Z" } });
    const revokes = await opened.db.selectFrom("audit_log").selectAll().where("action", "=", "api_token.revoke").execute();
    expect(revokes).toHaveLength(1);
    expect(JSON.parse(revokes[0]!.changes)).toEqual({ revoked_at: { before: null, after: "2026-02-01T00:00:00.000Z" } });
    expect(await revokeApiToken(...cmd(opened.db, audit), { ownerId: "owner-2", id: summary.id })).toEqual({
      outcome: "not_found",
    });
    expect(await revokeApiToken(...cmd(opened.db, audit), { ownerId: "owner-1", id: 9999 })).toEqual({ outcome: "not_found" });
    expect(await verifyAuditChain(opened.db, testAuditSigner)).toMatchObject({ ok: true, count: 2 });
  });

  it("lists the owner's tokens newest first with a status and no hashes", async () => {
    const now = Date.now();
    await createApiToken(
      ...cmd(opened.db, audit),
      { ownerId: "owner-1", name: "old", scope: "full", expiresInDays: 7 },
      now - 10 * 86_400_000,
    );
    const b = await createApiToken(...cmd(opened.db, audit), {
      ownerId: "owner-1",
      name: "gone",
      scope: "read",
      expiresInDays: null,
    });
    await createApiToken(...cmd(opened.db, audit), { ownerId: "owner-1", name: "live", scope: "full", expiresInDays: 90 });
    await createApiToken(...cmd(opened.db, audit), { ownerId: "owner-2", name: "theirs", scope: "full", expiresInDays: null });
    await revokeApiToken(...cmd(opened.db, audit), { ownerId: "owner-1", id: b.summary.id });
    const list = await listApiTokens(opened.db, "owner-1");
    expect(list.map((t) => [t.name, t.status])).toEqual([
      ["live", "active"],
      ["gone", "revoked"],
      ["old", "expired"],
    ]);
    for (const t of list) expect(Object.keys(t)).not.toContain("token_hash");
  });

  it("status is derived from revoked_at and expires_at", () => {
    const now = Date.parse("2026-05-01T00:00:00.000Z");
    expect(tokenStatus({ revoked_at: null, expires_at: null }, now)).toBe("active");
    expect(tokenStatus({ revoked_at: null, expires_at: "2026-05-01T00:00:00.001Z" }, now)).toBe("active");
    expect(tokenStatus({ revoked_at: null, expires_at: "2026-05-01T00:00:00.000Z" }, now)).toBe("expired");
    expect(tokenStatus({ revoked_at: "2026-04-01T00:00:00.000Z", expires_at: "2026-04-01T00:00:00.000Z" }, now)).toBe("revoked");
  });

  it("touchTokenUsage writes only when the stored time is a minute old or more", async () => {
    const { summary } = await createApiToken(...cmd(opened.db, audit), {
      ownerId: "owner-1",
      name: "a",
      scope: "full",
      expiresInDays: null,
    });
    const get = () => opened.db.selectFrom("api_tokens").selectAll().where("id", "=", summary.id).executeTakeFirstOrThrow();
    const t0 = Date.parse("2026-06-01T00:00:00.000Z");
    expect(await touchTokenUsage(opened.db, await get(), "10.0.0.1", t0)).toBe(true);
    expect(await touchTokenUsage(opened.db, await get(), "10.0.0.2", t0 + 59_999)).toBe(false);
    expect(await get()).toMatchObject({ last_used_at: "2026-06-01T00:00:00.000Z", last_used_ip: "10.0.0.1" });
    expect(await touchTokenUsage(opened.db, await get(), "10.0.0.3", t0 + 60_000)).toBe(true);
    expect(await get()).toMatchObject({ last_used_at: "2026-06-01T00:01:00.000Z", last_used_ip: "10.0.0.3" });
  });
});
