/**
 * What a text field may contain: the one rule for every name, title, label and
 * description a client can store, shared by the API schemas, the page forms and
 * the CLI. Characters that are invisible or that act on the display are refused,
 * because stored text is shown back to the owner in a browser and to agents in a
 * terminal:
 *
 * - C0 and C1 controls (U+0000–U+001F, U+007F–U+009F): ESC, CSI (U+009B) and
 *   friends are terminal escape sequences; NUL truncates in C; a lone CR returns
 *   the cursor and lets later text overwrite what was printed before it.
 * - In single-line fields also the bidirectional formatting characters — the
 *   embeddings and overrides U+202A–U+202E, the isolates U+2066–U+2069 and the
 *   marks U+200E, U+200F, U+061C — which reorder what is displayed (`\u202E`
 *   makes `txt.exe` read `exe.txt`), and the line and paragraph separators
 *   U+2028/U+2029, which are line breaks.
 * - Lone UTF-16 surrogates (possible in JSON as `"\ud800"`): not text at all,
 *   and not storable as UTF-8 without being changed.
 *
 * Multi-line fields (a task's description and plan, a project's description) keep
 * tab, LF and CR only as part of CRLF (what browsers submit from a textarea), and
 * keep the bidirectional characters: right-to-left prose needs them, and these
 * fields are rendered per paragraph, where an unclosed override ends with its block.
 * Ordinary Unicode — accents, CJK, emoji with their joiners, Hebrew and Arabic
 * letters — is accepted everywhere.
 *
 * The checks are regular expressions written with `\u` escapes and no flags, so
 * the same expression is the `pattern` of the OpenAPI document's JSON schema.
 */
import { z } from "zod";

/* eslint-disable no-control-regex -- matching control characters is the point of this module */
/** A single-line value: no controls at all, no bidirectional formatting, no line separators. */
export const SINGLE_LINE_PATTERN = /^[^\u0000-\u001F\u007F-\u009F\u061C\u200E\u200F\u2028-\u202E\u2066-\u2069]*$/;
/** A multi-line value: no controls but tab, LF, and CR directly before LF. */
export const MULTI_LINE_PATTERN = /^(?![\s\S]*\r(?!\n))[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$/;
/* eslint-enable no-control-regex */
const LONE_SURROGATE = /\p{Cs}/u;

export type TextKind = "single-line" | "multi-line";

const hex = (cp: number) => `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;

function isControl(cp: number): boolean {
  return cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f);
}

function isBidiFormatting(cp: number): boolean {
  return cp === 0x061c || cp === 0x200e || cp === 0x200f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/**
 * Why `value` is not acceptable text of this kind, naming the first character at
 * fault by its code point (never by itself, so the message is safe to print), or
 * null when it is acceptable.
 */
export function textProblem(value: string, kind: TextKind): string | null {
  let index = 0;
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0xd800 && cp <= 0xdfff) return `Must be valid Unicode text (lone surrogate ${hex(cp)})`;
    if (isControl(cp)) {
      if (kind === "multi-line" && (cp === 0x09 || cp === 0x0a || (cp === 0x0d && value[index + 1] === "\n"))) {
        index += 1;
        continue;
      }
      if (kind === "multi-line" && cp === 0x0d)
        return `Must not contain a carriage return except in a CRLF line break (found ${hex(cp)})`;
      return `Must not contain control characters (found ${hex(cp)})`;
    } else if (kind === "single-line") {
      if (isBidiFormatting(cp)) return `Must not contain bidirectional formatting characters (found ${hex(cp)})`;
      if (cp === 0x2028 || cp === 0x2029) return `Must be a single line (found ${hex(cp)})`;
    }
    index += ch.length;
  }
  return null;
}

/** Adds the rule for `kind` to a string schema (after its trim, min and max, so those run first). */
function withTextRule(schema: z.ZodString, kind: TextKind): z.ZodString {
  const pattern = kind === "single-line" ? SINGLE_LINE_PATTERN : MULTI_LINE_PATTERN;
  const message = (input: unknown) =>
    (typeof input === "string" && textProblem(input, kind)) || "Must not contain control characters";
  return (
    schema
      .regex(pattern, { error: (issue) => message(issue.input) })
      // Lone surrogates pass the flagless pattern; reported here, once (not again when the pattern already failed).
      .refine((value) => !LONE_SURROGATE.test(value) || !pattern.test(value), { error: (issue) => message(issue.input) })
  );
}

/** The single-line rule on an existing string schema (for fields with their own shape, like a branch name). */
export function singleLine(schema: z.ZodString): z.ZodString {
  return withTextRule(schema, "single-line");
}

/** The multi-line rule on an existing string schema. */
export function multiLine(schema: z.ZodString): z.ZodString {
  return withTextRule(schema, "multi-line");
}

export interface TextMessages {
  /** When the value is not a string at all (a form field that is missing). */
  required?: string;
  /** When nothing is left after trimming. */
  empty?: string;
  /** When it is longer than `max`. */
  tooLong?: string;
}

/**
 * A required single-line text: trimmed, 1–`max` characters, then the single-line
 * rule. Titles, names, labels, acceptance criteria, token names.
 */
export function singleLineText(max: number, messages: TextMessages = {}): z.ZodString {
  return singleLine(
    z
      .string(messages.required ? { error: messages.required } : undefined)
      .trim()
      .min(1, messages.empty ?? "Must not be empty")
      .max(max, messages.tooLong ?? `Must be at most ${max} characters`),
  );
}

/** An optional-content multi-line text (not trimmed: leading indentation can matter in Markdown), 0–`max` characters. */
export function multiLineText(max: number): z.ZodString {
  return multiLine(z.string().max(max, `Must be at most ${max} characters`));
}

/**
 * `value` with every character a single-line field refuses (and any lone
 * surrogate) written as a visible `\u{XXXX}` escape: for printing stored text to
 * a terminal, where rows written before this rule existed may still hold them.
 */
export function visibleText(value: string): string {
  let out = "";
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    const hidden = isControl(cp) || isBidiFormatting(cp) || cp === 0x2028 || cp === 0x2029 || (cp >= 0xd800 && cp <= 0xdfff);
    out += hidden ? `\\u{${cp.toString(16).toUpperCase().padStart(4, "0")}}` : ch;
  }
  return out;
}
