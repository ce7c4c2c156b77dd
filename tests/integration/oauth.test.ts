/**
 * MCP with OAuth (contract §9) on the production server, driven by the MCP SDK's own
 * OAuth client: `auth()` through an `OAuthClientProvider` follows discovery from the
 * 401 and registers; the test then plays the owner's browser on the consent page over
 * plain HTTP (no JavaScript), takes the code from the redirect, and lets the SDK finish
 * the exchange; tools are called with the SDK Client over the access token. Then the
 * attacks: refresh reuse, a code used twice, unregistered redirect URIs, scope,
 * revocation, the audience, and malformed requests.
 */
import Database from "better-sqlite3";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { auth, UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import {
  OAuthMetadataSchema,
  OAuthProtectedResourceMetadataSchema,
  type OAuthTokens,
} from "@modelcontextprotocol/sdk/shared/auth.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OWNER_EMAIL, OWNER_PASSWORD, postForm } from "../support/http";
import { signedIn, type CookieJar } from "../support/kit";
import { MemoryOAuthProvider } from "../support/oauth-client";
import { runCli, startServer, type TestServer } from "../support/server";

let server: TestServer;
let owner: CookieJar;
let apiToken: string;

const mcpUrl = () => new URL("/mcp", server.url);

function rows<T>(sql: string, ...params: unknown[]): T[] {
  const db = new Database(server.dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

/** The hidden fields and the action of the consent page's form, as a browser without JavaScript would post them. */
function consentForm(html: string): { action: string; fields: Record<string, string> } {
  const form = /<form method="post" action="(\/oauth\/authorize[^"]*)"[^>]*>([\s\S]*?)<\/form>/.exec(html);
  if (!form) throw new Error(`no consent form in:\n${html.slice(0, 2000)}`);
  const fields: Record<string, string> = {};
  for (const m of form[2]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
    fields[m[1]!] = m[2]!
      .replace(/&amp;/g, "&")
      .replace(/&quot;/g, '"')
      .replace(/&#x27;/g, "'")
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">");
  }
  return { action: form[1]!.replace(/&amp;/g, "&"), fields };
}

/** The owner answers the consent page for `url`; returns the redirect the browser would follow. */
async function consent(url: URL, decision: "allow" | "deny" = "allow"): Promise<URL> {
  const page = await owner.page(`${url.pathname}${url.search}`);
  expect(page.status).toBe(200);
  const html = await page.text();
  const { action, fields } = consentForm(html);
  const answer = await owner.post(action, { ...fields, decision });
  expect(answer.status).toBe(302);
  return new URL(answer.headers.get("location")!);
}

/**
 * The whole flow with the SDK: connect without credentials (401 → discovery →
 * registration → authorization URL), consent, finishAuth, reconnect with the tokens.
 */
async function connectWithOAuth(name: string, scope?: string): Promise<{ provider: MemoryOAuthProvider; client: Client }> {
  const provider = new MemoryOAuthProvider(name);
  if (scope) {
    // A client that asks for less than the server offers (auth() takes the scope as an option).
    expect(await auth(provider, { serverUrl: mcpUrl(), scope })).toBe("REDIRECT");
  } else {
    const first = new StreamableHTTPClientTransport(mcpUrl(), { authProvider: provider });
    const refused = await new Client({ name, version: "1.0.0" }).connect(first).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UnauthorizedError);
  }
  expect(provider.info?.client_id).toMatch(/^pqcl_/);
  const authorizationUrl = provider.authorizationUrl!;
  expect(authorizationUrl.origin + authorizationUrl.pathname).toBe(`${server.url}/oauth/authorize`);
  const back = await consent(authorizationUrl);
  expect(back.origin + back.pathname).toBe(provider.redirect);
  expect(back.searchParams.get("state")).toBe(`state-${name}`);
  const code = back.searchParams.get("code")!;
  expect(code).toMatch(/^pqoc_/);
  const finishing = new StreamableHTTPClientTransport(mcpUrl(), { authProvider: provider });
  await finishing.finishAuth(code);
  expect(provider.saved?.access_token).toMatch(/^pqoa_/);
  const client = new Client({ name, version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(mcpUrl(), { authProvider: provider }));
  return { provider, client };
}

function bearer(token: string) {
  return { Authorization: `Bearer ${token}` };
}

async function mcpPost(token: string, body: unknown): Promise<Response> {
  return fetch(mcpUrl(), {
    method: "POST",
    headers: { ...bearer(token), "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
    body: JSON.stringify(body),
  });
}
const LIST_PROJECTS = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "preq_list_projects", arguments: {} } };

function tokenRequest(fields: Record<string, string>): Promise<Response> {
  return fetch(`${server.url}/oauth/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
  });
}

async function register(body: unknown, contentType = "application/json"): Promise<Response> {
  return fetch(`${server.url}/oauth/register`, {
    method: "POST",
    headers: { "Content-Type": contentType },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

const events = (reason: string) =>
  rows<{ count: number }>(
    "select count from security_events where type = 'oauth' and details like ?",
    `%"reason":"${reason}"%`,
  ).reduce((n, r) => n + r.count, 0);

beforeAll(async () => {
  server = await startServer({ env: { API_RATE_LIMIT: "1000000/1m" } });
  owner = await signedIn(server); // set-up signs in: the session is in sudo mode
  const created = await runCli(["token", "create", "--name", "seed"], { dbPath: server.dbPath });
  apiToken = created.stdout.trim();
  const project = await fetch(`${server.url}/api/projects`, {
    method: "POST",
    headers: { ...bearer(apiToken), "Content-Type": "application/json" },
    body: JSON.stringify({ name: "OAuth", project_key: "OA", repo_url: "https://github.com/acme/oauth" }),
  });
  expect(project.status).toBe(201);
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

describe("MCP with OAuth: discovery, registration, consent, tools", () => {
  it("answers /mcp without a token with a 401 naming the protected resource metadata, whose documents match the contract", async () => {
    const none = await fetch(mcpUrl(), { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    expect(none.status).toBe(401);
    const metadataUrl = `${server.url}/.well-known/oauth-protected-resource/mcp`;
    expect(none.headers.get("www-authenticate")).toBe(`Bearer realm="preqstation", resource_metadata="${metadataUrl}"`);
    const bad = await mcpPost(`pqoa_${"x".repeat(43)}`, LIST_PROJECTS);
    expect(bad.status).toBe(401);
    expect(bad.headers.get("www-authenticate")).toBe(
      `Bearer realm="preqstation", resource_metadata="${metadataUrl}", error="invalid_token"`,
    );

    for (const path of ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"]) {
      const prm = OAuthProtectedResourceMetadataSchema.parse(await (await fetch(`${server.url}${path}`)).json());
      expect(prm).toMatchObject({
        resource: `${server.url}/mcp`,
        authorization_servers: [server.url],
        scopes_supported: ["tasks:read", "tasks:write"],
        bearer_methods_supported: ["header"],
      });
    }
    for (const path of [
      "/.well-known/oauth-authorization-server",
      "/.well-known/oauth-authorization-server/mcp",
      "/.well-known/openid-configuration",
    ]) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).toBe(200);
      const meta = OAuthMetadataSchema.parse(await res.json());
      expect(meta).toMatchObject({
        issuer: server.url,
        authorization_endpoint: `${server.url}/oauth/authorize`,
        token_endpoint: `${server.url}/oauth/token`,
        registration_endpoint: `${server.url}/oauth/register`,
        revocation_endpoint: `${server.url}/oauth/revoke`,
        response_types_supported: ["code"],
        grant_types_supported: ["authorization_code", "refresh_token"],
        code_challenge_methods_supported: ["S256"],
        token_endpoint_auth_methods_supported: ["none"],
        scopes_supported: ["tasks:read", "tasks:write"],
      });
    }
  });

  it("takes a fresh SDK client from the 401 to tools/call with no token copied, and attributes its writes to oauth:<client name>", async () => {
    const { provider, client } = await connectWithOAuth("Vitest Agent");
    expect(provider.saved).toMatchObject({ token_type: "Bearer", expires_in: 3600, scope: "tasks:read tasks:write" });
    expect(provider.saved?.refresh_token).toMatch(/^pqor_/);

    const listed = (await client.callTool({ name: "preq_list_projects", arguments: {} })) as CallToolResult;
    expect(listed.isError ?? false).toBe(false);
    expect(JSON.stringify(listed.structuredContent)).toContain('"project_key":"OA"');
    const tools = (await client.listTools()).tools.map((t) => t.name);
    expect(tools).toContain("preq_create_task");

    const created = (await client.callTool({
      name: "preq_create_task",
      arguments: { title: "Made over OAuth", repo: "acme/oauth" },
    })) as CallToolResult;
    expect(created.isError ?? false, JSON.stringify(created.content)).toBe(false);
    const key = (created.structuredContent as { task: { task_key: string } }).task.task_key;

    const audit = rows<{ action: string; actor_type: string; actor_id: string; actor_label: string; channel: string }>(
      "select action, actor_type, actor_id, actor_label, channel from audit_log where resource_id = ? and action = 'task.create'",
      key,
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor_label: "oauth:Vitest Agent", channel: "mcp" });
    expect(audit[0]!.actor_id).toMatch(/^oauth:\d+$/);
    // The consent and the registration are in the audit log too, and only hashes are stored.
    const grantId = audit[0]!.actor_id.slice("oauth:".length);
    expect(rows("select 1 from audit_log where action = 'oauth.grant' and resource_id = ?", grantId)).toHaveLength(1);
    expect(
      rows("select 1 from audit_log where action = 'oauth.client_register' and resource_id = ?", provider.info!.client_id),
    ).toHaveLength(1);
    const stored = rows<{ token_hash: string }>("select token_hash from oauth_tokens");
    expect(stored.some((r) => r.token_hash === provider.saved!.access_token)).toBe(false);

    // The grant is on the Connections page with its name, redirect host and scope.
    const page = await (await owner.page("/settings/connections")).text();
    expect(page).toContain("Vitest Agent");
    expect(page).toContain(new URL(provider.redirect).host);
    expect(page).toContain("read and write");
    await client.close();
  });

  it("refuses an OAuth access token on /api: it is bound to /mcp", async () => {
    const { provider, client } = await connectWithOAuth("Audience Check");
    await client.close();
    const res = await fetch(`${server.url}/api/projects`, { headers: bearer(provider.saved!.access_token) });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: { code: "UNAUTHORIZED", message: "Missing or invalid authorization header" } });
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="preqstation", error="invalid_token"');
    const recorded = rows<{ n: number }>(
      "select count(*) as n from security_events where type = 'bearer_auth' and details like '%wrong_audience%'",
    );
    expect(recorded[0]!.n).toBeGreaterThan(0);
    // …while the same token works on /mcp.
    expect((await mcpPost(provider.saved!.access_token, LIST_PROJECTS)).status).toBe(200);
  });

  it("lists only the read tools for a tasks:read grant and refuses its write tools", async () => {
    const { provider, client } = await connectWithOAuth("Reader", "tasks:read");
    expect(provider.saved?.scope).toBe("tasks:read");
    const tools = (await client.listTools()).tools.map((t) => t.name);
    expect(tools).toContain("preq_list_projects");
    expect(tools).not.toContain("preq_create_task");
    const refused = (await client.callTool({
      name: "preq_create_task",
      arguments: { title: "nope", repo: "acme/oauth" },
    })) as CallToolResult;
    expect(refused.isError).toBe(true);
    expect(JSON.stringify(refused.content)).toContain("FORBIDDEN");
    expect(rows("select 1 from tasks where title = 'nope'")).toHaveLength(0);
    await client.close();
  });
});

describe("MCP with OAuth: codes, refresh tokens and revocation", () => {
  it("rotates the refresh token on every use, and a replayed one revokes the whole grant", async () => {
    const { provider, client } = await connectWithOAuth("Rotator");
    await client.close();
    const clientId = provider.info!.client_id;
    const first = provider.saved!;

    const rotated = await tokenRequest({ grant_type: "refresh_token", refresh_token: first.refresh_token!, client_id: clientId });
    expect(rotated.status).toBe(200);
    expect(rotated.headers.get("cache-control")).toBe("no-store");
    const second = (await rotated.json()) as OAuthTokens;
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.access_token).not.toBe(first.access_token);
    expect((await mcpPost(second.access_token, LIST_PROJECTS)).status).toBe(200);

    const before = events("refresh_token_reused");
    const replay = await tokenRequest({ grant_type: "refresh_token", refresh_token: first.refresh_token!, client_id: clientId });
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ error: "invalid_grant" });
    expect(events("refresh_token_reused")).toBe(before + 1);

    // The whole grant is gone: the newest access token and the newest refresh token too.
    expect((await mcpPost(second.access_token, LIST_PROJECTS)).status).toBe(401);
    const next = await tokenRequest({ grant_type: "refresh_token", refresh_token: second.refresh_token!, client_id: clientId });
    expect(next.status).toBe(400);
    expect(rows("select 1 from audit_log where action = 'oauth.revoke' and changes like '%refresh_token_reused%'")).toHaveLength(
      1,
    );
  });

  it("refuses a code used twice and revokes what its first use issued", async () => {
    const provider = new MemoryOAuthProvider("Twice");
    expect(await auth(provider, { serverUrl: mcpUrl() })).toBe("REDIRECT");
    const back = await consent(provider.authorizationUrl!);
    const exchange = {
      grant_type: "authorization_code",
      code: back.searchParams.get("code")!,
      code_verifier: provider.verifier,
      redirect_uri: provider.redirect,
      client_id: provider.info!.client_id,
      resource: `${server.url}/mcp`,
    };
    const ok = await tokenRequest(exchange);
    expect(ok.status).toBe(200);
    const tokens = (await ok.json()) as OAuthTokens;
    expect((await mcpPost(tokens.access_token, LIST_PROJECTS)).status).toBe(200);

    const before = events("code_reused");
    const again = await tokenRequest(exchange);
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: "invalid_grant" });
    expect(events("code_reused")).toBe(before + 1);
    expect((await mcpPost(tokens.access_token, LIST_PROJECTS)).status).toBe(401);
  });

  it("refuses a wrong PKCE verifier, and records it", async () => {
    const provider = new MemoryOAuthProvider("Bad Verifier");
    expect(await auth(provider, { serverUrl: mcpUrl() })).toBe("REDIRECT");
    const back = await consent(provider.authorizationUrl!);
    const before = events("bad_verifier");
    const res = await tokenRequest({
      grant_type: "authorization_code",
      code: back.searchParams.get("code")!,
      code_verifier: "w".repeat(43),
      redirect_uri: provider.redirect,
      client_id: provider.info!.client_id,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "invalid_grant" });
    expect(events("bad_verifier")).toBe(before + 1);
  });

  it("shows an error page, never a redirect, for an unregistered redirect URI or an unknown client", async () => {
    const provider = new MemoryOAuthProvider("Redirect Check");
    expect(await auth(provider, { serverUrl: mcpUrl() })).toBe("REDIRECT");
    const url = new URL(provider.authorizationUrl!);
    for (const evil of ["https://evil.example/callback", "http://127.0.0.1:1234/other", "http://localhost:1234/callback"]) {
      url.searchParams.set("redirect_uri", evil);
      const res = await owner.page(`${url.pathname}${url.search}`);
      expect(res.status, evil).toBe(400);
      expect(res.headers.get("location")).toBeNull();
      expect(await res.text()).toContain("Unregistered redirect address");
    }
    // A registered loopback URI on another port is the same URI (RFC 8252 §7.3).
    const otherPort = new URL(provider.redirect);
    otherPort.port = String(Number(otherPort.port) + 1);
    url.searchParams.set("redirect_uri", otherPort.toString());
    expect((await owner.page(`${url.pathname}${url.search}`)).status).toBe(200);

    url.searchParams.set("client_id", "pqcl_unknownunknownunknow");
    const unknown = await owner.page(`${url.pathname}${url.search}`);
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get("location")).toBeNull();
    expect(await unknown.text()).toContain("Unknown application");
    // And a POST of the consent form with a forged redirect URI is refused the same way.
    const forged = await owner.post("/oauth/authorize", {
      client_id: provider.info!.client_id,
      redirect_uri: "https://evil.example/callback",
      response_type: "code",
      code_challenge: "a".repeat(43),
      code_challenge_method: "S256",
      decision: "allow",
    });
    expect(forged.status).toBe(400);
    expect(forged.headers.get("location")).toBeNull();
  });

  it("ends a grant's access at once when the owner revokes it on /settings/connections", async () => {
    const { provider, client } = await connectWithOAuth("To Revoke");
    await client.close();
    const grantId = rows<{ id: number }>("select id from oauth_grants where client_name = 'To Revoke'")[0]!.id;
    const res = await owner.post("/settings/connections", { intent: "revoke", grant_id: String(grantId) });
    expect(res.status).toBe(302);
    expect((await mcpPost(provider.saved!.access_token, LIST_PROJECTS)).status).toBe(401);
    const refresh = await tokenRequest({
      grant_type: "refresh_token",
      refresh_token: provider.saved!.refresh_token!,
      client_id: provider.info!.client_id,
    });
    expect(refresh.status).toBe(400);
    expect(
      rows("select 1 from audit_log where action = 'oauth.revoke' and resource_id = ? and actor_type = 'owner'", String(grantId)),
    ).toHaveLength(1);
    expect(await (await owner.page("/settings/connections")).text()).not.toContain('aria-label="Revoke To Revoke"');
  });

  it("revokes a grant through the RFC 7009 endpoint, answering 200 whatever the token", async () => {
    const { provider, client } = await connectWithOAuth("Self Revoker");
    await client.close();
    const revoke = (token: string) =>
      fetch(`${server.url}/oauth/revoke`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token, client_id: provider.info!.client_id }).toString(),
      });
    expect((await revoke("not-a-token")).status).toBe(200);
    expect((await revoke(provider.saved!.refresh_token!)).status).toBe(200);
    expect((await mcpPost(provider.saved!.access_token, LIST_PROJECTS)).status).toBe(401);
  });

  it("sends Deny back to the client as access_denied", async () => {
    const provider = new MemoryOAuthProvider("Denied");
    expect(await auth(provider, { serverUrl: mcpUrl() })).toBe("REDIRECT");
    const back = await consent(provider.authorizationUrl!, "deny");
    expect(back.searchParams.get("error")).toBe("access_denied");
    expect(back.searchParams.get("code")).toBeNull();
  });
});

describe("MCP with OAuth: bad input is a 4xx in the RFC's shape", () => {
  it("refuses malformed registrations", async () => {
    const base = { client_name: "x", redirect_uris: ["http://127.0.0.1:5555/cb"] };
    const cases: [unknown, string, string?][] = [
      [{ ...base, redirect_uris: ["http://evil.example/cb"] }, "invalid_redirect_uri"],
      [{ ...base, redirect_uris: ["https://ok.example/cb#frag"] }, "invalid_redirect_uri"],
      [{ ...base, redirect_uris: [] }, "invalid_redirect_uri"],
      [{ ...base, redirect_uris: "http://127.0.0.1/cb" }, "invalid_redirect_uri"],
      [{ ...base, grant_types: ["client_credentials"] }, "invalid_client_metadata"],
      [{ ...base, client_name: "a\u202Eb" }, "invalid_client_metadata"],
      ["{not json", "invalid_client_metadata"],
      ["[]", "invalid_client_metadata"],
      ["client_name=x", "invalid_client_metadata", "application/x-www-form-urlencoded"],
    ];
    for (const [body, error, type] of cases) {
      const res = await register(body, type);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const json = (await res.json()) as { error: string; error_description: string };
      expect(json.error, JSON.stringify(body)).toBe(error);
      expect(typeof json.error_description).toBe("string");
    }
    const ok = await register({ ...base, redirect_uris: ["http://[::1]:1/cb", "https://app.example/cb"] });
    expect(ok.status).toBe(201);
    expect(await ok.json()).toMatchObject({ client_id: expect.stringMatching(/^pqcl_/), token_endpoint_auth_method: "none" });
    // A client asking for a secret is registered public all the same (no secret is ever issued).
    const secretWanted = await register({ ...base, token_endpoint_auth_method: "client_secret_basic" });
    expect(secretWanted.status).toBe(201);
    const answer = (await secretWanted.json()) as Record<string, unknown>;
    expect(answer.token_endpoint_auth_method).toBe("none");
    expect(answer).not.toHaveProperty("client_secret");
  });

  it("refuses malformed token requests with RFC 6749 errors, never a 500", async () => {
    const registered = (await (
      await register({ client_name: "Token Fuzz", redirect_uris: ["http://127.0.0.1:7/cb"] })
    ).json()) as {
      client_id: string;
    };
    const id = registered.client_id;
    const cases: [Record<string, string> | string, number, string][] = [
      [{}, 400, "invalid_request"],
      [{ grant_type: "password", client_id: id }, 400, "unsupported_grant_type"],
      [{ grant_type: "client_credentials" }, 400, "unsupported_grant_type"],
      [{ grant_type: "authorization_code" }, 400, "invalid_request"],
      [{ grant_type: "authorization_code", client_id: "pqcl_nobodynobodynobodyno" }, 401, "invalid_client"],
      [{ grant_type: "authorization_code", client_id: id, code: "x" }, 400, "invalid_request"],
      [
        { grant_type: "authorization_code", client_id: id, code: "x", code_verifier: "y", redirect_uri: "http://127.0.0.1:7/cb" },
        400,
        "invalid_grant",
      ],
      [{ grant_type: "refresh_token", client_id: id }, 400, "invalid_request"],
      [{ grant_type: "refresh_token", client_id: id, refresh_token: `pqor_${"a".repeat(43)}` }, 400, "invalid_grant"],
      [
        { grant_type: "refresh_token", client_id: id, refresh_token: "r", resource: "https://elsewhere.example/mcp" },
        400,
        "invalid_target",
      ],
      ["grant_type=refresh_token&grant_type=authorization_code", 400, "invalid_request"],
    ];
    for (const [fields, status, error] of cases) {
      const res =
        typeof fields === "string"
          ? await fetch(`${server.url}/oauth/token`, {
              method: "POST",
              headers: { "Content-Type": "application/x-www-form-urlencoded" },
              body: fields,
            })
          : await tokenRequest(fields);
      expect(res.status, JSON.stringify(fields)).toBe(status);
      expect(((await res.json()) as { error: string }).error, JSON.stringify(fields)).toBe(error);
    }
    const json = await fetch(`${server.url}/oauth/token`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ grant_type: "authorization_code" }),
    });
    expect(json.status).toBe(400);
    expect(((await json.json()) as { error: string }).error).toBe("invalid_request");
    expect((await fetch(`${server.url}/oauth/token`)).status).toBe(405);
    // A browser-based client's request (with an Origin) is answered the same way: these endpoints are for clients, not pages.
    const fromWeb = await fetch(`${server.url}/oauth/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: "https://connector.example" },
      body: new URLSearchParams({ grant_type: "refresh_token", client_id: id, refresh_token: "x" }).toString(),
    });
    expect(fromWeb.status).toBe(400);
    expect(((await fromWeb.json()) as { error: string }).error).toBe("invalid_grant");
    // The client id may come as HTTP Basic (with an empty secret) from a client that insists on it.
    const basic = await fetch(`${server.url}/oauth/token`, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        Authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:`).toString("base64")}`,
      },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: "x" }).toString(),
    });
    expect(basic.status).toBe(400);
    expect(((await basic.json()) as { error: string }).error).toBe("invalid_grant");
  });

  it("sends bad authorization parameters back to a registered redirect URI as RFC 6749 errors", async () => {
    const provider = new MemoryOAuthProvider("Param Check");
    expect(await auth(provider, { serverUrl: mcpUrl() })).toBe("REDIRECT");
    const cases: [Record<string, string | null>, string][] = [
      [{ code_challenge_method: "plain" }, "invalid_request"],
      [{ code_challenge: null }, "invalid_request"],
      [{ response_type: "token" }, "unsupported_response_type"],
      [{ scope: "admin" }, "invalid_scope"],
      [{ resource: "https://elsewhere.example/mcp" }, "invalid_target"],
    ];
    for (const [change, error] of cases) {
      const url = new URL(provider.authorizationUrl!);
      for (const [k, v] of Object.entries(change)) {
        if (v === null) url.searchParams.delete(k);
        else url.searchParams.set(k, v);
      }
      const res = await owner.page(`${url.pathname}${url.search}`);
      expect(res.status, JSON.stringify(change)).toBe(302);
      const back = new URL(res.headers.get("location")!);
      expect(back.origin + back.pathname).toBe(provider.redirect);
      expect(back.searchParams.get("error"), JSON.stringify(change)).toBe(error);
      expect(back.searchParams.get("state")).toBe("state-Param Check");
    }
  });

  it("limits registrations per client IP", async () => {
    const own = await startServer();
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 21; i += 1) {
        const res = await fetch(`${own.url}/oauth/register`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ client_name: `n${i}`, redirect_uris: ["http://127.0.0.1:9/cb"] }),
        });
        statuses.push(res.status);
        if (res.status === 429) {
          expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
          expect(((await res.json()) as { error: string }).error).toBe("invalid_request");
        }
      }
      expect(statuses.slice(0, 20).every((s) => s === 201)).toBe(true);
      expect(statuses[20]).toBe(429);
    } finally {
      await own.stop();
    }
  });
});

describe("MCP with OAuth: the consent page", () => {
  it("sends a signed-out visitor to sign in and back, forbids framing, and refuses a cross-site form", async () => {
    const provider = new MemoryOAuthProvider("Sign In First");
    expect(await auth(provider, { serverUrl: mcpUrl() })).toBe("REDIRECT");
    const url = provider.authorizationUrl!;
    const anonymous = await fetch(url, { redirect: "manual" });
    expect(anonymous.status).toBe(302);
    const login = new URL(anonymous.headers.get("location")!, server.url);
    expect(login.pathname).toBe("/login");
    expect(login.searchParams.get("redirectTo")).toBe(`${url.pathname}${url.search}`);
    // Sent by another site (a web connector), the browser leaves the SameSite=Strict cookie out: the page reloads
    // itself once from this origin instead of asking a signed-in owner to sign in again.
    const crossSite = await fetch(url, { redirect: "manual", headers: { "Sec-Fetch-Site": "cross-site" } });
    expect(crossSite.status).toBe(200);
    expect(await crossSite.text()).toMatch(/<meta http-equiv="refresh" content="0"\/>/);
    const reloaded = await owner.page(`${url.pathname}${url.search}`, { "Sec-Fetch-Site": "same-origin" });
    expect(reloaded.status).toBe(200);
    expect(await reloaded.text()).toContain("<strong>Sign In First</strong> wants to use PreqStation");
    // Signing in there comes back to the same authorization request.
    const signIn = await postForm(server, "/login", {
      email: OWNER_EMAIL,
      password: OWNER_PASSWORD,
      redirectTo: login.searchParams.get("redirectTo")!,
    });
    expect(signIn.status).toBe(302);
    expect(signIn.headers.get("location")).toBe(`${url.pathname}${url.search}`);
    // A consent page for the signed-in owner forbids framing and lets its form go to the client's redirect origin.
    const page = await owner.page(`${url.pathname}${url.search}`);
    const csp = page.headers.get("content-security-policy")!;
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain(`form-action 'self' ${new URL(provider.redirect).origin}`);
    // A cross-site POST of the consent form is refused.
    const forged = await owner.post("/oauth/authorize", { decision: "allow" }, { Origin: "https://evil.example" });
    expect(forged.status).toBe(403);
  });

  it("asks for sudo mode when the sign-in is older than SUDO_MAX_AGE, then comes back to the consent page", async () => {
    const own = await startServer({ env: { SUDO_MAX_AGE: "1" } });
    try {
      const jar = await signedIn(own);
      const provider = new MemoryOAuthProvider("Sudo Check");
      expect(await auth(provider, { serverUrl: new URL("/mcp", own.url) })).toBe("REDIRECT");
      const url = provider.authorizationUrl!;
      const path = `${url.pathname}${url.search}`;
      await new Promise((r) => setTimeout(r, 1_100));
      const page = await jar.page(path);
      expect(page.status).toBe(303);
      const sudo = new URL(page.headers.get("location")!, own.url);
      expect(sudo.pathname).toBe("/sudo");
      // The same authorization request (its parameters in the server's order).
      const sorted = (p: string) => {
        const u = new URL(p, own.url);
        u.searchParams.sort();
        return `${u.pathname}?${u.searchParams.toString()}`;
      };
      const comeBack = sudo.searchParams.get("redirectTo")!;
      expect(sorted(comeBack)).toBe(sorted(path));
      // Allow without sudo changes nothing either.
      const early = await jar.post(path, { ...Object.fromEntries(url.searchParams), decision: "allow" });
      expect(early.status).toBe(303);
      expect(new Database(own.dbPath, { readonly: true }).prepare("select count(*) as n from oauth_grants").get()).toEqual({
        n: 0,
      });
      const back = await jar.post(`${sudo.pathname}${sudo.search}`, { password: OWNER_PASSWORD, redirectTo: comeBack });
      expect(back.status).toBe(303);
      expect(back.headers.get("location")).toBe(comeBack);
      expect((await jar.page(comeBack)).status).toBe(200);
    } finally {
      await own.stop();
    }
  });
});
