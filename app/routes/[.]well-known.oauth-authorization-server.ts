import type { LoaderFunctionArgs } from "@remix-run/node";
import { authorizationServerMetadata, metadataResponse } from "~/lib/http/oauth.server";

/** RFC 8414 authorization server metadata (also served where OpenID-style and path-suffixed discovery look; contract §9). */
export function loader({ request }: LoaderFunctionArgs) {
  return metadataResponse(authorizationServerMetadata(new URL(request.url).origin), request);
}
