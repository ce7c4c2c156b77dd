/**
 * An expected failure of a domain command: the caller asked for something that does
 * not exist, breaks a rule, or does not validate. The domain knows nothing of HTTP;
 * each caller maps the code — the API layer to its documented status and error body,
 * pages to an inline form error, the CLI to a message and exit code.
 */
export type DomainErrorCode = "NOT_FOUND" | "CONFLICT" | "PRECONDITION_FAILED" | "VALIDATION_ERROR";

/** One invalid input field, by its path in the input (`title`, `labels.2`). */
export interface FieldIssue {
  path: string;
  message: string;
}

export class DomainError extends Error {
  override name = "DomainError";

  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details?: FieldIssue[],
  ) {
    super(message);
  }
}
