import type { LoaderFunctionArgs } from "@remix-run/node";
import { notFound } from "~/lib/api-errors.server";

/** Any /api path with no route of its own: a JSON 404, whatever the method. */
export function loader({ request }: LoaderFunctionArgs) {
  return notFound(`No API route at ${new URL(request.url).pathname}`);
}

export const action = loader;
