/**
 * Reading API input: the JSON body (media type, streaming size limit, syntax)
 * and validation against a zod schema, each failure as the documented 4xx.
 */
import type { z } from "zod";
import { ApiError, type ValidationDetail } from "./errors.server";
import { READ_ONLY_FIELDS } from "./schemas";
import { MAX_BODY_BYTES, readBodyText } from "../http/body.server";
import { forbiddenKeyPath } from "../domain/json";

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
  const text = await readBodyText(request, MAX_BODY_BYTES);
  return { value: parseJsonText(text), text };
}

/**
 * The body of a route whose fields are all optional (claim, heartbeat, release, next):
 * no body at all (or an empty one) is `{}`; anything else is read as readJsonBody does.
 */
export async function readOptionalJsonBody(request: Request): Promise<unknown> {
  const type = request.headers.get("content-type");
  if (type !== null && !isJsonContentType(type)) {
    throw new ApiError("UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json");
  }
  const text = await readBodyText(request, MAX_BODY_BYTES);
  if (text.trim() === "") return {};
  if (type === null) throw new ApiError("UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json");
  return parseJsonText(text);
}

/** JSON text as a value: 400 INVALID_JSON when it is not JSON, 400 VALIDATION_ERROR for a forbidden key. */
function parseJsonText(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(
      "INVALID_JSON",
      text.trim() === "" ? "Request body is empty; send a JSON object" : "Request body is not valid JSON",
    );
  }
  const forbidden = forbiddenKeyPath(value);
  if (forbidden !== null) {
    const key = forbidden.at(-1)!;
    const path = pathString(forbidden);
    throw new ApiError("VALIDATION_ERROR", `Request body failed validation (${path}: the key "${key}" is not allowed)`, {
      details: [{ path, message: `The key "${key}" is not allowed` }],
    });
  }
  return value;
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
        const readOnly =
          body && issue.path.length === 0 && Object.hasOwn(READ_ONLY_FIELDS, key) ? READ_ONLY_FIELDS[key] : undefined;
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
  // Everything but the query string is a body of fields (the JSON body, MCP tool arguments).
  const details = validationDetails(error, what !== "Query");
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
export async function readJsonInput<S extends z.ZodType>(
  request: Request,
  schema: S,
): Promise<{ data: z.output<S>; text: string }> {
  const { value, text } = await readJsonBody(request);
  return { data: parseInput(schema, value), text };
}

/**
 * Reads and validates a JSON body now, but answers its failure (415, 413, 400,
 * or a broken stream) only when the returned function is called: for a domain
 * command that first says whether its target exists (a 404 whatever the body), so
 * the body is read before its write transaction begins and the target is looked up once.
 */
export async function deferredJsonInput<S extends z.ZodType>(request: Request, schema: S): Promise<() => z.output<S>> {
  return deferred(readJsonInput(request, schema).then(({ data }) => data));
}

/** `parseInput` run now (outside any transaction), its 400 thrown only when the returned function is called. */
export function deferredInput<S extends z.ZodType>(schema: S, value: unknown, what = "Request body"): () => z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return () => result.data;
  const error = validationError(result.error, what);
  return () => {
    throw error;
  };
}

async function deferred<T>(work: Promise<T>): Promise<() => T> {
  try {
    const value = await work;
    return () => value;
  } catch (error) {
    return () => {
      throw error;
    };
  }
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
