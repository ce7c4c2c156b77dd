/** Every API error code of spec/api.md, with the status it always goes with. */
export const API_ERRORS = {
  INVALID_JSON: 400,
  VALIDATION_ERROR: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;
export type ApiErrorCode = keyof typeof API_ERRORS;

export interface ValidationDetail {
  path: string;
  message: string;
}

/**
 * An expected API failure (validation, not found, conflict…) thrown from a handler;
 * `defineApiRoute` turns it into the documented error response. The domain never
 * throws it (it throws DomainError, mapped by app/lib/api/domain-errors.server.ts);
 * the API layer's own checks do (media type, JSON syntax, query, Idempotency-Key).
 */
export class ApiError extends Error {
  override name = "ApiError";
  readonly details?: ValidationDetail[];
  readonly headers?: HeadersInit;

  constructor(
    readonly code: ApiErrorCode,
    message: string,
    options: { details?: ValidationDetail[]; headers?: HeadersInit } = {},
  ) {
    super(message);
    this.details = options.details;
    this.headers = options.headers;
  }

  toResponse(): Response {
    return apiError(this.code, this.message, { details: this.details, headers: this.headers });
  }
}

/**
 * Builds an API error response: `{"error": {"code", "message", "details"?}}`,
 * with no stack trace or SQL in it, and `Cache-Control: no-store`.
 */
export function apiError(
  code: ApiErrorCode,
  message: string,
  options: { details?: ValidationDetail[]; headers?: HeadersInit } = {},
): Response {
  const error = options.details ? { code, message, details: options.details } : { code, message };
  return jsonResponse({ error }, API_ERRORS[code], options.headers);
}

/** A JSON success response with `Cache-Control: no-store`. */
export function apiJson(body: unknown, init: { status?: number; headers?: HeadersInit } = {}): Response {
  return jsonResponse(body, init.status ?? 200, init.headers);
}

/**
 * Serialized once, sent with its Content-Length: the server writes it in one piece
 * instead of as a chunked stream.
 */
function jsonResponse(body: unknown, status: number, init: HeadersInit | undefined): Response {
  const text = JSON.stringify(body);
  const headers = new Headers(init);
  headers.set("Content-Type", "application/json; charset=utf-8");
  headers.set("Content-Length", String(Buffer.byteLength(text)));
  headers.set("Cache-Control", "no-store");
  return new Response(text, { status, headers });
}

export function methodNotAllowed(allow: string[]): Response {
  return apiError("METHOD_NOT_ALLOWED", `Method not allowed; use ${allow.join(", ")}`, {
    headers: { Allow: allow.join(", ") },
  });
}

export function notFound(message = "Not found"): Response {
  return apiError("NOT_FOUND", message);
}
