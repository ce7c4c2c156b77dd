import { redirect, type LoaderFunctionArgs } from "@remix-run/node";
import { getOwnerSession } from "~/lib/http/owner-session.server";
import { ownerExists } from "~/lib/auth/owner.server";

export async function loader({ request, context }: LoaderFunctionArgs) {
  if (await getOwnerSession(request, context)) throw redirect("/tasks");
  if (!(await ownerExists(context.services.db))) throw redirect("/setup");
  throw redirect("/login");
}
