/**
 * Domain errors in the API's vocabulary. The domain throws DomainError (it knows
 * nothing of HTTP); the API route wrapper and the MCP tools answer it as the
 * documented error: the same code (and so its status), message and details. A
 * task version mismatch is the 412 naming the task's current ETag, which it also sends.
 */
import type { DomainError, DomainErrorCode } from "../domain/errors";
import { TaskVersionMismatch } from "../tasks/tasks.server";
import { ApiError, type ApiErrorCode } from "./errors.server";
import { etagOf, preconditionFailedMessage } from "./etag.server";

/** Each domain error code's API error code (and through API_ERRORS, its status). */
export const API_CODE_OF: Readonly<Record<DomainErrorCode, ApiErrorCode>> = {
  NOT_FOUND: "NOT_FOUND",
  CONFLICT: "CONFLICT",
  PRECONDITION_FAILED: "PRECONDITION_FAILED",
  VALIDATION_ERROR: "VALIDATION_ERROR",
};

export function apiErrorOf(error: DomainError): ApiError {
  if (error instanceof TaskVersionMismatch) {
    return new ApiError("PRECONDITION_FAILED", preconditionFailedMessage(error.currentVersion), {
      headers: { ETag: etagOf(error.currentVersion) },
    });
  }
  return new ApiError(API_CODE_OF[error.code], error.message, error.details ? { details: error.details } : {});
}
