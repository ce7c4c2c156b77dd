import type { z } from "zod";
import { readBodyText } from "./body.server";

/** Page forms are small: anything over this is refused before it is buffered. */
export const MAX_FORM_BYTES = 64 * 1024;

/**
 * Reads an urlencoded form body (what every page form posts, with or without
 * JavaScript) with a size limit. Returns null when the body is too large or
 * not a form, so the caller answers with an error instead of throwing.
 */
export async function readForm(request: Request): Promise<URLSearchParams | null> {
  const type = request.headers.get("content-type") ?? "";
  if (!type.toLowerCase().startsWith("application/x-www-form-urlencoded")) return null;
  try {
    return new URLSearchParams(await readBodyText(request, MAX_FORM_BYTES));
  } catch {
    return null;
  }
}

export type FieldErrors = Record<string, string>;

export type FormResult<T> = { success: true; data: T } | { success: false; fieldErrors: FieldErrors };

/**
 * Validates a form with a zod schema (the same schema the page's fields are built
 * from). Only the first message per field is kept, keyed by the field's name.
 */
export function parseForm<S extends z.ZodType>(schema: S, form: URLSearchParams | null): FormResult<z.output<S>> {
  const input: Record<string, string> = {};
  form?.forEach((value, key) => {
    if (!(key in input)) input[key] = value;
  });
  const parsed = schema.safeParse(input);
  if (parsed.success) return { success: true, data: parsed.data };
  const fieldErrors: FieldErrors = {};
  for (const issue of parsed.error.issues) {
    const key = issue.path.length ? String(issue.path[0]) : "form";
    fieldErrors[key] ??= issue.message;
  }
  return { success: false, fieldErrors };
}

/**
 * Page forms post with POST. Remix runs a route's action for any other method too
 * (PUT, PATCH, DELETE), which no page of ours offers: those are a 405.
 */
export function requirePost(request: Request): void {
  if (request.method !== "POST") {
    throw new Response("Method not allowed", { status: 405, headers: { Allow: "GET, HEAD, POST" } });
  }
}
