import { Link } from "@remix-run/react";

/**
 * Previous/next links of a keyset-paged list (newest first). An absent link is
 * shown as plain text, so the layout does not jump.
 */
export function Pager({
  label,
  previousHref,
  nextHref,
}: {
  label: string;
  previousHref: string | null;
  nextHref: string | null;
}) {
  if (!previousHref && !nextHref) return null;
  return (
    <nav className="pager" aria-label={label}>
      {previousHref ? (
        <Link to={previousHref} rel="prev">
          Previous page
        </Link>
      ) : (
        <span className="muted">Previous page</span>
      )}
      {nextHref ? (
        <Link to={nextHref} rel="next">
          Next page
        </Link>
      ) : (
        <span className="muted">Next page</span>
      )}
    </nav>
  );
}

/** `?key=value…` of the non-empty values, in a stable order; "" when none. */
export function queryString(values: Record<string, string | null | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) if (value) params.set(key, value);
  const s = params.toString();
  return s ? `?${s}` : "";
}
