/**
 * Reading API input: the JSON body (media type, streaming size limit, syntax)
 * and validation against a zod schema, each failure as the documented 4xx.
 */
import type { z } from "zod";
import type { ValidationDetail } from "./api-errors.server";
import { ApiError } from "./api-route.server";
import { READ_ONLY_FIELDS } from "./api-schemas";
import { BodyTooLargeError, MAX_BODY_BYTES } from "./body.server";

/**
 * After a body passes the limit, up to this many more bytes (and this long) are
 * read and thrown away before answering 413 — a bounded "lingering close", as
 * nginx does — so a client still uploading gets to read the 413 instead of a
 * connection reset. Past these bounds the connection is simply dropped.
 */
const LINGER_BYTES = 8 * MAX_BODY_BYTES;
const LINGER_MS = 2_000;

/**
 * The body as UTF-8 text, refused (BodyTooLargeError → 413) by its
 * Content-Length or, while streaming, as soon as it passes `limit` bytes;
 * nothing past the limit is kept.
 */
export async function readLimitedBody(request: Request, limit = MAX_BODY_BYTES): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw new BodyTooLargeError(limit);
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await discardRest(reader);
      throw new BodyTooLargeError(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total).toString("utf8");
}

async function discardRest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  const deadline = Date.now() + LINGER_MS;
  let discarded = 0;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), LINGER_MS)));
  try {
    while (discarded <= LINGER_BYTES && Date.now() < deadline) {
      const next = await Promise.race([reader.read(), timeout]);
      if (next === "timeout" || next.done) break;
      discarded += next.value.byteLength;
    }
  } catch {
    // the client went away: nothing left to discard
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => undefined);
  }
}

/** True when the Content-Type is `application/json`, with or without parameters such as charset. */
export function isJsonContentType(header: string | null): boolean {
  if (!header) return false;
  const mediaType = header.split(";", 1)[0]!.trim().toLowerCase();
  return mediaType === "application/json";
}

/**
 * The parsed JSON body and its exact text. 415 unless the Content-Type is
 * application/json; over 1 MiB throws BodyTooLargeError while reading (→ 413);
 * text that is not JSON is 400 INVALID_JSON.
 */
export async function readJsonBody(request: Request): Promise<{ value: unknown; text: string }> {
  if (!isJsonContentType(request.headers.get("content-type"))) {
    throw new ApiError("UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json");
  }
  const text = await readLimitedBody(request, MAX_BODY_BYTES);
  try {
    return { value: JSON.parse(text) as unknown, text };
  } catch {
    throw new ApiError("INVALID_JSON", text.trim() === "" ? "Request body is empty; send a JSON object" : "Request body is not valid JSON");
  }
}

/** A zod issue path as one string: `labels.0`, `settings.deploy_strategy`; the whole body is `""`. */
function pathString(path: readonly PropertyKey[]): string {
  return path.map((p) => String(p)).join(".");
}

/**
 * One `{path, message}` per problem; an unknown field is named by its own path
 * (with the reason when it is a server-maintained field of a body).
 */
export function validationDetails(error: z.ZodError, body = true): ValidationDetail[] {
  const details: ValidationDetail[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const path = pathString([...issue.path, key]);
        const readOnly = body && issue.path.length === 0 && Object.hasOwn(READ_ONLY_FIELDS, key) ? READ_ONLY_FIELDS[key] : undefined;
        details.push({ path, message: readOnly ?? (body ? `Unknown field "${key}"` : `Unknown query parameter "${key}"`) });
      }
    } else {
      details.push({ path: pathString(issue.path), message: issue.message });
    }
  }
  return details;
}

/** The 400 VALIDATION_ERROR for a failed parse, its message naming the first problem. */
export function validationError(error: z.ZodError, what = "Request body"): ApiError {
  const details = validationDetails(error, what === "Request body");
  const first = details[0];
  const summary = first ? (first.path ? `${first.path}: ${first.message}` : first.message) : "invalid";
  return new ApiError("VALIDATION_ERROR", `${what} failed validation (${summary})`, { details });
}

/** Parses `value` with `schema`, or throws the 400. Never `.parse`: input failures are data, not bugs. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what = "Request body"): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(result.error, what);
  return result.data;
}

/** Reads and validates a JSON body in one step. */
export async function readJsonInput<S extends z.ZodType>(request: Request, schema: S): Promise<{ data: z.output<S>; text: string }> {
  const { value, text } = await readJsonBody(request);
  return { data: parseInput(schema, value), text };
}

/**
 * The query string as an object for a strict schema. A parameter given more
 * than once is a 400 (one value each, so nothing is silently ignored).
 */
export function queryObject(url: URL): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [key, value] of url.searchParams) {
    if (Object.prototype.hasOwnProperty.call(out, key)) {
      throw new ApiError("VALIDATION_ERROR", `Query parameter ${key} is given more than once`, {
        details: [{ path: key, message: "Given more than once" }],
      });
    }
    out[key] = value;
  }
  return { ...out };
}
