import type { LoaderFunctionArgs } from "@remix-run/node";
import { metadataResponse, protectedResourceMetadata } from "~/lib/http/oauth.server";

/** RFC 9728 protected resource metadata (the path without the resource's own path; contract §9). */
export function loader({ request }: LoaderFunctionArgs) {
  return metadataResponse(protectedResourceMetadata(new URL(request.url).origin), request);
}
