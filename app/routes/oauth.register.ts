import type { ActionFunctionArgs } from "@remix-run/node";
import { OAuthClientMetadataSchema } from "@modelcontextprotocol/sdk/shared/auth.js";
import { isJsonContentType } from "~/lib/api/input.server";
import { requestContext } from "~/lib/domain/context";
import { singleLineText } from "~/lib/domain/text";
import { readBodyText } from "~/lib/http/body.server";
import { oauthError, oauthJson } from "~/lib/http/oauth.server";
import { registerClient } from "~/lib/oauth/oauth.server";
import { CLIENT_NAME_MAX, REDIRECT_URIS_MAX, redirectUriProblem } from "~/lib/oauth/rules";
import { throttleKey } from "~/lib/security/rate-limit.server";

/**
 * Dynamic client registration (RFC 7591, contract §9): public clients only
 * (registered and answered as `token_endpoint_auth_method: none`), redirect URIs
 * https or http on loopback.
 * Rate-limited per client IP. Errors are RFC 7591 §3.2.2 bodies.
 */
const MAX_REGISTRATION_BYTES = 64 * 1024;
const ClientNameSchema = singleLineText(CLIENT_NAME_MAX);

export function loader() {
  return oauthError("invalid_request", "Register with POST", 405, { Allow: "POST" });
}

export async function action({ request, context }: ActionFunctionArgs) {
  if (request.method !== "POST") return oauthError("invalid_request", "Register with POST", 405, { Allow: "POST" });
  const { services } = context;
  // Only registrations that are stored count (a refused one writes nothing), but a client over its budget is refused first.
  const ipKey = throttleKey(context.request.clientIp);
  const limit = services.limiters.oauthRegister.peek(ipKey);
  if (limit.remaining <= 0) {
    return oauthError("invalid_request", "Too many registrations from this address; retry later", 429, {
      "Retry-After": String(limit.retryAfter),
    });
  }
  if (!isJsonContentType(request.headers.get("content-type"))) {
    return oauthError("invalid_client_metadata", "Send the client metadata as application/json");
  }
  let body: unknown;
  try {
    body = JSON.parse(await readBodyText(request, MAX_REGISTRATION_BYTES));
  } catch {
    return oauthError("invalid_client_metadata", "The body must be one JSON object of at most 64 KiB");
  }
  const parsed = OAuthClientMetadataSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.length ? String(issue.path[0]) : "body";
    return oauthError(
      field === "redirect_uris" ? "invalid_redirect_uri" : "invalid_client_metadata",
      `${field}: ${issue?.message ?? "invalid"}`,
    );
  }
  const meta = parsed.data;
  if (meta.redirect_uris.length === 0 || meta.redirect_uris.length > REDIRECT_URIS_MAX) {
    return oauthError("invalid_redirect_uri", `redirect_uris: give 1 to ${REDIRECT_URIS_MAX} URIs`);
  }
  for (const uri of meta.redirect_uris) {
    const problem = redirectUriProblem(uri);
    if (problem) return oauthError("invalid_redirect_uri", `redirect_uris: ${uri.slice(0, 200)} ${problem}`);
  }
  // Every client is registered public (no secret is ever issued), whatever authentication method it
  // asked for: the answer says `none` (RFC 7591 §3.2.1 lets the server replace requested metadata), and
  // the grant types are always authorization_code and refresh_token. A client that cannot use the code
  // flow at all is refused.
  const grantTypes = meta.grant_types ?? ["authorization_code", "refresh_token"];
  if (!grantTypes.includes("authorization_code")) {
    return oauthError("invalid_client_metadata", "grant_types: authorization_code is the only flow here");
  }
  if (meta.response_types !== undefined && meta.response_types.some((r) => r !== "code")) {
    return oauthError("invalid_client_metadata", "response_types: code only");
  }
  const name =
    meta.client_name === undefined
      ? { success: true as const, data: "MCP client" }
      : ClientNameSchema.safeParse(meta.client_name);
  if (!name.success) {
    return oauthError("invalid_client_metadata", `client_name: ${name.error.issues[0]?.message ?? "invalid"}`);
  }

  const admitted = services.limiters.oauthRegister.hit(ipKey);
  if (!admitted.allowed) {
    return oauthError("invalid_request", "Too many registrations from this address; retry later", 429, {
      "Retry-After": String(admitted.retryAfter),
    });
  }
  const client = await registerClient(services, requestContext(request, context.request), {
    clientName: name.data,
    redirectUris: meta.redirect_uris,
  });
  return oauthJson(
    {
      ...client,
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    },
    201,
  );
}
