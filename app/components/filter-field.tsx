import type { ReactNode } from "react";

/** A labelled filter control with its inline error (the filter forms are GET forms). */
export function FilterField({
  label,
  name,
  error,
  children,
}: {
  label: string;
  name: string;
  error?: string;
  children: (props: { id: string; name: string; "aria-invalid"?: true; "aria-describedby"?: string }) => ReactNode;
}) {
  const id = `filter-${name}`;
  return (
    <div>
      <label htmlFor={id}>{label}</label>
      {children({ id, name, ...(error ? { "aria-invalid": true as const, "aria-describedby": `${id}-error` } : {}) })}
      {error ? (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

/** A date input for a date filter; a value with a time of day (typed into the URL) stays editable as text. */
export function dateInputType(value: string | undefined): "date" | "text" {
  return !value || /^\d{4}-\d{2}-\d{2}$/.test(value) ? "date" : "text";
}
