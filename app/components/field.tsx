import type { InputHTMLAttributes, ReactNode, SelectHTMLAttributes, TextareaHTMLAttributes } from "react";

interface FieldProps {
  label: string;
  name: string;
  error?: string;
  hint?: string;
}

/** What a control needs to be tied to its label, hint and inline error. */
interface ControlWiring {
  id: string;
  name: string;
  "aria-invalid": true | undefined;
  "aria-describedby": string | undefined;
}

/** The label, hint and error around one control, wired up for screen readers. */
function Labelled({ label, name, error, hint, control }: FieldProps & { control: (wiring: ControlWiring) => ReactNode }) {
  const id = `field-${name}`;
  const described = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(" ") || undefined;
  return (
    <div>
      <label htmlFor={id}>{label}</label>
      {control({ id, name, "aria-invalid": error ? true : undefined, "aria-describedby": described })}
      {hint ? (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

/** A labelled input with its hint and inline error, wired up for screen readers. */
export function Field({ label, name, error, hint, ...input }: FieldProps & InputHTMLAttributes<HTMLInputElement>) {
  return <Labelled label={label} name={name} error={error} hint={hint} control={(wiring) => <input {...wiring} {...input} />} />;
}

/** A labelled textarea, wired up like `Field`. */
export function TextAreaField({
  label,
  name,
  error,
  hint,
  ...textarea
}: FieldProps & TextareaHTMLAttributes<HTMLTextAreaElement>) {
  return (
    <Labelled label={label} name={name} error={error} hint={hint} control={(wiring) => <textarea {...wiring} {...textarea} />} />
  );
}

/** A labelled select (its options as children), wired up like `Field`. */
export function SelectField({
  label,
  name,
  error,
  hint,
  children,
  ...select
}: FieldProps & SelectHTMLAttributes<HTMLSelectElement>) {
  return (
    <Labelled
      label={label}
      name={name}
      error={error}
      hint={hint}
      control={(wiring) => (
        <select {...wiring} {...select}>
          {children}
        </select>
      )}
    />
  );
}
