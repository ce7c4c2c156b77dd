import type { LoaderFunctionArgs } from "@remix-run/node";
import { metadataResponse, protectedResourceMetadata } from "~/lib/http/oauth.server";

/** RFC 9728 protected resource metadata for `/mcp`: where the 401's `resource_metadata` points (contract §9). */
export function loader({ request }: LoaderFunctionArgs) {
  return metadataResponse(protectedResourceMetadata(new URL(request.url).origin), request);
}
