/** A stored ISO 8601 UTC time, shown in UTC to the second (the full value is in `dateTime` and the tooltip). */
export function UtcTime({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span className="muted">—</span>;
  const shown = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/.test(iso) ? `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC` : iso;
  return (
    <time dateTime={iso} title={iso}>
      {shown}
    </time>
  );
}
