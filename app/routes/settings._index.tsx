import { redirect, type LoaderFunctionArgs } from "@remix-run/node";
import { requireOwner } from "~/lib/auth.server";

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireOwner(request, context);
  throw redirect("/settings/api-keys");
}
