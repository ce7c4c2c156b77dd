import type { HeadersFunction } from "@remix-run/node";
import { z } from "zod";
import { fieldErrorsFromZod, type FieldErrors } from "../domain/field-errors";
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

export type { FieldErrors };

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
  return { success: false, fieldErrors: fieldErrorsFromZod(parsed.error) };
}

/** The HTML constraints of one input, as the schema that parses its form states them. */
export interface InputConstraints {
  name: string;
  required: boolean;
  minLength?: number;
  maxLength?: number;
}

/**
 * The constraints of the input `name` from the form's own zod schema (an object,
 * refined or not): `required` unless the field is optional or has a default, and
 * the string length bounds (`min`/`max`) of its input side, before any pipe or
 * transform. So the page's `<input>` cannot drift from what the action accepts.
 * Computed in the loader (the schemas live on the server) and spread on the input.
 */
export function inputProps<S extends z.ZodObject>(schema: S, name: keyof S["shape"] & string): InputConstraints {
  let field = schema.shape[name] as z.ZodType;
  let required = true;
  for (;;) {
    const def = field._zod.def as { type: string; innerType?: z.ZodType; in?: z.ZodType };
    if ((def.type === "optional" || def.type === "default" || def.type === "prefault") && def.innerType) {
      required = false;
      field = def.innerType;
    } else if (def.type === "pipe" && def.in) {
      field = def.in;
    } else {
      break;
    }
  }
  const props: InputConstraints = { name, required };
  if (field instanceof z.ZodString) {
    if (field.minLength !== null && field.minLength > 0) props.minLength = field.minLength;
    if (field.maxLength !== null) props.maxLength = field.maxLength;
  }
  return props;
}

/**
 * A page's `headers` export for forms whose action can be throttled: the answer carries the
 * action's Retry-After (Remix takes a document response's headers from this function).
 */
export const retryAfterHeaders: HeadersFunction = ({ actionHeaders }) => {
  const retryAfter = actionHeaders.get("Retry-After");
  return retryAfter ? { "Retry-After": retryAfter } : new Headers();
};
