import { notFound } from "~/lib/api/errors.server";

/**
 * Any /api path with no route of its own: a JSON 404, whatever the method. The
 * message is fixed: echoing the requested path back would reflect attacker input.
 */
export function loader() {
  return notFound("No such API route");
}

export const action = loader;
