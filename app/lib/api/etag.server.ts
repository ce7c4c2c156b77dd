/**
 * Entity tags of tasks (API layer): a task's ETag is its version, `"<version>"`.
 * The routes send it with every task and turn an `If-Match` header into the
 * versions the domain command must find (its `expectedVersion`).
 */

/** The strong ETag of a task version. */
export function etagOf(version: number): string {
  return `"${version}"`;
}

/**
 * The versions an `If-Match` header allows writing: undefined (no precondition)
 * when it is absent or `*`; else the versions of its strong entity tags `"<n>"`.
 * Weak tags (`W/"3"`) and anything that is not a tag of a version never match, so
 * a header of only those allows none (the write is a 412).
 */
export function expectedVersionOf(header: string | null): readonly number[] | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (value === "*") return undefined;
  const versions: number[] = [];
  for (const raw of value.split(",")) {
    const match = /^"([1-9]\d{0,15})"$/.exec(raw.trim());
    if (!match) continue;
    const version = Number(match[1]);
    if (Number.isSafeInteger(version)) versions.push(version);
  }
  return versions;
}

/** Whether an `If-Match` header allows writing `version`. */
export function ifMatchSatisfied(header: string | null, version: number): boolean {
  const expected = expectedVersionOf(header);
  return expected === undefined || expected.includes(version);
}

/** The 412's message, naming the current ETag (sent as the `ETag` header too). */
export function preconditionFailedMessage(currentVersion: number): string {
  return `If-Match does not match the task's current ETag ${etagOf(currentVersion)}`;
}
