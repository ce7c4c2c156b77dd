import { NavLink } from "@remix-run/react";

/** The settings pages that exist; a page is listed here only once it is built. */
export const SETTINGS_PAGES = [
  { to: "/settings", label: "Overview" },
  { to: "/settings/api-keys", label: "API Keys" },
  { to: "/settings/connections", label: "Connections" },
  { to: "/settings/audit-logs", label: "Audit Logs" },
  { to: "/settings/security-events", label: "Security Events" },
  { to: "/settings/sessions", label: "Sessions" },
  { to: "/settings/security", label: "Security" },
  { to: "/settings/two-factor", label: "Two-factor" },
] as const;

export function SettingsNav() {
  return (
    <nav className="settings-nav" aria-label="Settings">
      <ul>
        {SETTINGS_PAGES.map((page) => (
          <li key={page.to}>
            <NavLink to={page.to} end={page.to === "/settings"} prefetch="intent">
              {page.label}
            </NavLink>
          </li>
        ))}
      </ul>
    </nav>
  );
}
