import { NavLink } from "@remix-run/react";

/** The settings pages that exist; a page is listed here only once it is built. */
export const SETTINGS_PAGES = [{ to: "/settings/api-keys", label: "API Keys" }] as const;

export function SettingsNav() {
  return (
    <nav className="settings-nav" aria-label="Settings">
      <ul>
        {SETTINGS_PAGES.map((page) => (
          <li key={page.to}>
            <NavLink to={page.to} prefetch="intent">
              {page.label}
            </NavLink>
          </li>
        ))}
      </ul>
    </nav>
  );
}
