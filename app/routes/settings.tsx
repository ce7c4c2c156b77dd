import type { LoaderFunctionArgs } from "@remix-run/node";
import { Outlet } from "@remix-run/react";
import { SettingsNav } from "~/components/settings-nav";
import { requireOwner } from "~/lib/http/owner-session.server";

// This layout's check protects only its own render: every child loader and
// action calls requireOwner itself.
export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireOwner(request, context);
  return null;
}

export default function SettingsLayout() {
  return (
    <div className="layout">
      <SettingsNav />
      <main className="content">
        <Outlet />
      </main>
    </div>
  );
}
