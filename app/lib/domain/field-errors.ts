import type { z } from "zod";

/** Inline messages of a form or a filter form, keyed by field name (`form` for the whole form). */
export type FieldErrors = Record<string, string>;

/** `labels.2` → `labels`; `settings.deploy_strategy` → `deploy_strategy` (the page's field names). */
export function fieldName(path: string): string {
  if (path.startsWith("settings.")) return path.slice("settings.".length).split(".")[0]!;
  return path.split(".")[0]! || "form";
}

/**
 * The one mapping from a zod failure to inline field errors (first message per field):
 * page forms, filter forms and the console list queries all report through it.
 */
export function fieldErrorsFromZod(error: z.ZodError, fieldOf: (path: string) => string = fieldName): FieldErrors {
  const fieldErrors: FieldErrors = {};
  for (const issue of error.issues) {
    const key = issue.path.length ? fieldOf(issue.path.map(String).join(".")) : "form";
    fieldErrors[key] ??= issue.message;
  }
  return fieldErrors;
}
