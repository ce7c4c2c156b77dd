import type { RelyingParty } from "../auth/two-factor/passkeys.server";
import { readBodyText } from "./body.server";
import { forbiddenKeyPath } from "../domain/json";

/**
 * What the WebAuthn resource routes share: the relying party and the small JSON bodies
 * the browser script posts.
 */

/** The WebAuthn bodies are an assertion or an attestation: a few kilobytes. */
export const MAX_WEBAUTHN_BODY_BYTES = 64 * 1024;

/**
 * The relying party for a request: its id is the host name and its origin the origin
 * of the request's URL, which the server built from the validated Host (or, with
 * TRUST_PROXY, the proxy's X-Forwarded-Host/-Proto) before routing (requestOrigin in
 * origin.server.ts), and which the same-origin check has already matched against the
 * browser's Origin for every POST. Nothing in a body, query or cookie takes part
 * (pitfall 32): a page served from another origin gets a ceremony that only verifies
 * for that origin, and the browser itself refuses an RP id its page origin does not own.
 */
export function relyingParty(request: Request): RelyingParty {
  const url = new URL(request.url);
  return { id: url.hostname.replace(/^\[|\]$/g, ""), origin: url.origin, name: "PreqStation" };
}

/**
 * A JSON object body, or null when it is too large, not JSON, not an object, or carries
 * a prototype key (`__proto__`, `constructor`, `prototype`) at any depth: the same rule as
 * the API's and MCP's reader.
 */
export async function readJsonObject(request: Request): Promise<Record<string, unknown> | null> {
  const type = request.headers.get("content-type") ?? "";
  if (!type.toLowerCase().startsWith("application/json")) return null;
  try {
    const value: unknown = JSON.parse(await readBodyText(request, MAX_WEBAUTHN_BODY_BYTES));
    if (value === null || typeof value !== "object" || Array.isArray(value)) return null;
    return forbiddenKeyPath(value) === null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** A JSON answer for the browser script, never cached. */
export function jsonNoStore(body: unknown, init: { status?: number; headers?: HeadersInit } = {}): Response {
  const headers = new Headers(init.headers);
  headers.set("Cache-Control", "no-store");
  return Response.json(body, { status: init.status ?? 200, headers });
}
