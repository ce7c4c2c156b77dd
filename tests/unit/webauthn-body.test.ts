/**
 * The WebAuthn endpoints' JSON reader follows the same rule as the API's and MCP's:
 * a prototype key at any depth makes the body unreadable (security pitfall: one
 * reader rule for every entry point), as do a wrong media type, bad JSON or a non-object.
 */
import { describe, expect, it } from "vitest";
import { readJsonObject } from "~/lib/http/webauthn.server";

const post = (body: string, type = "application/json") =>
  new Request("http://localhost/login/passkey/verify", { method: "POST", headers: { "Content-Type": type }, body });

describe("readJsonObject (WebAuthn verify bodies)", () => {
  it("reads a JSON object", async () => {
    expect(await readJsonObject(post('{"id":"abc","response":{"clientDataJSON":"x"}}'))).toEqual({
      id: "abc",
      response: { clientDataJSON: "x" },
    });
  });

  it("refuses __proto__, constructor and prototype keys at any depth", async () => {
    for (const body of [
      '{"__proto__":{"admin":true}}',
      '{"id":"abc","response":{"constructor":{}}}',
      '{"id":"abc","clientExtensionResults":[{"prototype":1}]}',
    ]) {
      expect(await readJsonObject(post(body))).toBeNull();
    }
  });

  it("refuses what is not a JSON object", async () => {
    expect(await readJsonObject(post("[1,2]"))).toBeNull();
    expect(await readJsonObject(post("null"))).toBeNull();
    expect(await readJsonObject(post("{nope"))).toBeNull();
    expect(await readJsonObject(post('{"id":"abc"}', "text/plain"))).toBeNull();
  });
});
