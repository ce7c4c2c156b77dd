import { NavLink } from "@remix-run/react";

/** The signed-in owner's top navigation. */
export function MainNav() {
  return (
    <nav className="main-nav" aria-label="Main">
      <ul>
        <li>
          <NavLink to="/tasks">Tasks</NavLink>
        </li>
        <li>
          <NavLink to="/projects">Projects</NavLink>
        </li>
        <li>
          <NavLink to="/settings">Settings</NavLink>
        </li>
      </ul>
    </nav>
  );
}
