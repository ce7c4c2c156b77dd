import type { ActionFunctionArgs } from "@remix-run/node";
import { methodNotAllowed } from "~/lib/api/errors.server";
import { handleMcpRequest } from "~/lib/api/mcp.server";

/**
 * The MCP endpoint (Streamable HTTP, stateless, JSON responses): POST only. GET
 * would open a server-to-client event stream, which a stateless server has no
 * use for, so it is a 405 like every other method.
 */
export function loader() {
  return methodNotAllowed(["POST"]);
}

export async function action({ request, context }: ActionFunctionArgs) {
  if (request.method !== "POST") return methodNotAllowed(["POST"]);
  return handleMcpRequest(request, context);
}
