import { ApiError } from "./errors.server";

/**
 * The `Idempotency-Key` header of an idempotent POST (the store behind it is the
 * domain's: app/lib/command/idempotency.server.ts). The route wrapper reads it.
 */
export const IDEMPOTENCY_HEADER = "Idempotency-Key";
/** 1–255 visible ASCII characters (the header here, the `idempotencyKey` argument of the MCP preq_create_task). */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** The key from the header, null when absent; a 400 when it is not 1–255 visible ASCII characters. */
export function parseIdempotencyKey(request: Request): string | null {
  const value = request.headers.get(IDEMPOTENCY_HEADER);
  if (value === null) return null;
  if (!IDEMPOTENCY_KEY_PATTERN.test(value)) {
    throw new ApiError("VALIDATION_ERROR", `${IDEMPOTENCY_HEADER} must be 1–255 visible ASCII characters`, {
      details: [{ path: IDEMPOTENCY_HEADER, message: "Must be 1–255 visible ASCII characters" }],
    });
  }
  return value;
}
