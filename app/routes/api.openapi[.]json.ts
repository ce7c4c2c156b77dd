import { methodNotAllowed } from "~/lib/api/errors.server";
import { openApiDocument } from "~/lib/api/openapi.server";
import { VERSION } from "~/lib/version.server";

/**
 * The document is a pure function of the schemas and the version, so it is
 * rendered once when the module loads (an immutable constant, not state): a
 * public route should not spend milliseconds of CPU per anonymous request.
 */
const DOCUMENT = JSON.stringify(openApiDocument(VERSION));

/** Public (no token): the OpenAPI 3.1 document of the API, generated from the request/response schemas. */
export function loader() {
  return new Response(DOCUMENT, {
    headers: { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "public, max-age=300" },
  });
}

export function action() {
  return methodNotAllowed(["GET", "HEAD"]);
}
