import { apiJson } from "~/lib/api/errors.server";
import { ok } from "~/lib/api/openapi.server";
import { defineApiRoute } from "~/lib/api/route.server";

/** Lets an agent check its token: name, scope and expiry (never the token or its hash). */
const route = defineApiRoute("/api/me", {
  GET: {
    doc: {
      operationId: "getMe",
      summary: "The calling token's name, scope and expiry",
      responses: { "200": ok("The token", "MeResponse") },
      errors: [],
    },
    handler: ({ auth }) =>
      apiJson({ token: { name: auth.token.name, scope: auth.token.scope, expires_at: auth.token.expires_at } }),
  },
});

export const loader = route.loader;
export const action = route.action;
