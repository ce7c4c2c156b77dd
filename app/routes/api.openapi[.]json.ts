import type { LoaderFunctionArgs } from "@remix-run/node";
import { methodNotAllowed } from "~/lib/api/errors.server";
import { describedLoader } from "~/lib/api/openapi.server";

/**
 * Public (no token): the OpenAPI 3.1 document of the API, generated from the API
 * route modules' own descriptions (their `loader.openapi`) and the request/response
 * schemas. Rendered once per server (the API description belongs to the request
 * handler), not per anonymous request.
 */
export const loader = describedLoader(
  "/api/openapi.json",
  {
    get: {
      operationId: "getOpenApi",
      summary: "This document (public)",
      public: true,
      responses: {
        "200": { description: "OpenAPI 3.1 document", content: { "application/json": { schema: { type: "object" } } } },
      },
      errors: ["MethodNotAllowed"],
    },
  },
  ({ context }: LoaderFunctionArgs) => {
    return new Response(context.api.openApiText(), {
      headers: { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "public, max-age=300" },
    });
  },
);

export function action() {
  return methodNotAllowed(["GET", "HEAD"]);
}
