import { DomainError } from "../domain/errors";
import { fieldName, type FieldErrors } from "../domain/field-errors";

/** Zod failures map to field errors by the domain's one function (the console list filters use it too). */
export { fieldErrorsFromZod } from "../domain/field-errors";

/**
 * What a page shows for a failed command: a message for the whole form and the
 * messages per field (keyed by the form's field names), with the HTTP status the
 * page answers with. Never a 500: unexpected errors are not mapped here, they throw.
 */
export interface FormError {
  status: 400 | 404 | 409 | 412;
  code: "NOT_FOUND" | "CONFLICT" | "PRECONDITION_FAILED" | "VALIDATION_ERROR";
  formError: string;
  fieldErrors: FieldErrors;
}

const STATUS = { NOT_FOUND: 404, CONFLICT: 409, PRECONDITION_FAILED: 412, VALIDATION_ERROR: 400 } as const;

/**
 * The one mapping from a domain command's expected failure to an inline form error.
 * Anything but a `DomainError` is rethrown: it is a bug, not bad input.
 */
export function formErrorFrom(error: unknown, fieldOf: (path: string) => string = fieldName): FormError {
  if (!(error instanceof DomainError)) throw error;
  const fieldErrors: FieldErrors = {};
  for (const detail of error.details ?? []) fieldErrors[fieldOf(detail.path)] ??= detail.message;
  return { status: STATUS[error.code], code: error.code, formError: error.message, fieldErrors };
}
