import { apiJson, methodNotAllowed } from "~/lib/api-errors.server";
import { openApiDocument } from "~/lib/openapi.server";
import { VERSION } from "~/lib/version.server";

/** Public (no token): the OpenAPI 3.1 document of the API, generated from the request/response schemas. */
export function loader() {
  const response = apiJson(openApiDocument(VERSION));
  response.headers.set("Cache-Control", "public, max-age=300");
  return response;
}

export function action() {
  return methodNotAllowed(["GET", "HEAD"]);
}
