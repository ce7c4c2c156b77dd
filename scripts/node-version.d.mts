/** The Node.js major version PreqStation runs on. */
export const REQUIRED_NODE_MAJOR: number;
/** One line saying what is wrong with this Node.js, or null when it will do. */
export function nodeVersionProblem(versions?: { node: string }, execPath?: string): string | null;
/** Stops the process with that one line (exit 1) when this Node.js is too old. */
export function requireSupportedNode(): void;
