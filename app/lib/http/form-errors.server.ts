import type { z } from "zod";
import { DomainError } from "../domain/errors";
import type { FieldErrors } from "./forms.server";

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

/** `labels.2` → `labels`; `settings.deploy_strategy` → `deploy_strategy` (the page's field names). */
function fieldName(path: string): string {
  if (path.startsWith("settings.")) return path.slice("settings.".length).split(".")[0]!;
  return path.split(".")[0]! || "form";
}

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

/** A zod failure as inline field errors (first message per field), keyed like `formErrorFrom`. */
export function fieldErrorsFromZod(error: z.ZodError, fieldOf: (path: string) => string = fieldName): FieldErrors {
  const fieldErrors: FieldErrors = {};
  for (const issue of error.issues) {
    const key = issue.path.length ? fieldOf(issue.path.map(String).join(".")) : "form";
    fieldErrors[key] ??= issue.message;
  }
  return fieldErrors;
}
