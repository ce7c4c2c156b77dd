/**
 * The OAuth consent page (contract §9) in a real browser with the owner signed in:
 * an MCP client (the SDK's own `auth()`, in this process) registers and sends the
 * browser to the authorization URL; the owner sees the application, where it sends
 * them back to and what it may do, clicks Allow, and the browser lands on the
 * client's loopback redirect URI with the code, which the client exchanges for
 * tokens that call a tool; then the owner revokes the connection on
 * /settings/connections. With JavaScript and without it.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { auth } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { getPage, setupOwner } from "../support/http";
import { MemoryOAuthProvider } from "../support/oauth-client";
import type { TestServer } from "../support/server";
import { expect, signIn, test } from "./fixtures";

/** A native client's loopback listener: it answers the browser and remembers what it was sent. */
async function loopback(): Promise<{ url: string; port: number; received: Promise<URL>; close(): void }> {
  let resolve!: (u: URL) => void;
  const received = new Promise<URL>((r) => (resolve = r));
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname === "/start") {
      // Another site linking to the consent page (a web connector's "Connect" button).
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
      res.end(
        `<!doctype html><title>Elsewhere</title><a href="${url.searchParams.get("to")!.replace(/"/g, "&quot;")}">Connect</a>`,
      );
      return;
    }
    resolve(url);
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end("<!doctype html><title>Connected</title><h1>You can close this window</h1>");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/callback`, port, received, close: () => server.close() };
}

async function ensureOwner(server: TestServer) {
  if ((await getPage(server, "/setup")).status !== 404) await setupOwner(server);
}

test.beforeEach(async ({ server }) => {
  await ensureOwner(server);
});

for (const javaScriptEnabled of [true, false]) {
  test.describe(javaScriptEnabled ? "with JavaScript" : "without JavaScript", () => {
    // With JavaScript on a desktop width, without it on a 390 px phone.
    test.use({ javaScriptEnabled, viewport: javaScriptEnabled ? { width: 1280, height: 800 } : { width: 390, height: 844 } });

    test("the owner allows an MCP client on the consent page, the client calls a tool, and revoking it on Connections ends its access", async ({
      page,
      server,
    }) => {
      const listener = await loopback();
      try {
        const name = `E2E Agent ${javaScriptEnabled ? "js" : "nojs"}`;
        const provider = new MemoryOAuthProvider(name, listener.url);
        const serverUrl = new URL("/mcp", server.url);
        expect(await auth(provider, { serverUrl })).toBe("REDIRECT");

        await signIn(page, server);
        await page.goto(provider.authorizationUrl!.toString());
        await expect(page.getByRole("heading", { name: `Connect ${name}?`, level: 1 })).toBeVisible();
        await expect(page.getByText(new URL(listener.url).host, { exact: true })).toBeVisible();
        await expect(page.getByText("read and write tasks and projects")).toBeVisible();
        await expect(page.getByRole("button", { name: "Deny" })).toBeVisible();

        await page.getByRole("button", { name: "Allow" }).click();
        const back = await listener.received;
        await expect(page.getByRole("heading", { name: "You can close this window" })).toBeVisible();
        expect(back.pathname).toBe("/callback");
        expect(back.searchParams.get("state")).toBe(`state-${name}`);
        const code = back.searchParams.get("code")!;
        expect(code).toMatch(/^pqoc_/);

        expect(await auth(provider, { serverUrl, authorizationCode: code })).toBe("AUTHORIZED");
        const client = new Client({ name, version: "1.0.0" });
        await client.connect(new StreamableHTTPClientTransport(serverUrl, { authProvider: provider }));
        const result = await client.callTool({ name: "preq_list_projects", arguments: {} });
        expect(result.isError ?? false).toBe(false);
        await client.close();

        // The connection is listed on the settings page; revoking it ends the client's access at once.
        await page.goto(`${server.url}/settings/connections`);
        await expect(page.getByRole("cell", { name, exact: true })).toBeVisible();
        await page.getByRole("button", { name: `Revoke ${name}` }).click();
        await expect(page.getByRole("status")).toContainText(`Disconnected “${name}”`);
        await expect(page.getByRole("cell", { name, exact: true })).toHaveCount(0);
        const refused = await fetch(serverUrl, {
          method: "POST",
          headers: {
            Authorization: `Bearer ${provider.saved!.access_token}`,
            "Content-Type": "application/json",
            Accept: "application/json, text/event-stream",
          },
          body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
        });
        expect(refused.status).toBe(401);
      } finally {
        listener.close();
      }
    });
  });
}

test.describe("arriving from another site", () => {
  test.use({ javaScriptEnabled: false });

  test("a signed-in owner sent by another site sees the consent page without signing in again", async ({ page, server }) => {
    const listener = await loopback();
    try {
      const provider = new MemoryOAuthProvider("Cross Site Agent", listener.url);
      expect(await auth(provider, { serverUrl: new URL("/mcp", server.url) })).toBe("REDIRECT");
      await signIn(page, server);
      // localhost is another site than 127.0.0.1: the SameSite=Strict session cookie stays behind on this hop.
      const start = `http://localhost:${listener.port}/start?to=${encodeURIComponent(provider.authorizationUrl!.toString())}`;
      await page.goto(start);
      await page.getByRole("link", { name: "Connect" }).click();
      await expect(page.getByRole("heading", { name: "Connect Cross Site Agent?", level: 1 })).toBeVisible();
    } finally {
      listener.close();
    }
  });
});
