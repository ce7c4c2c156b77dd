// The Node.js the server and the CLI need, checked at start by every entry that does not
// go through npm (whose devEngines already refuse an older Node.js): `node build/...`,
// bin/preqstation.mjs, scripts/start.mjs and the single executable. Plain JavaScript with
// no imports, so it runs (and says why it stops) on any Node.js, however old.

/** The Node.js major version PreqStation runs on (package.json engines, .node-version and .nvmrc say the same). */
export const REQUIRED_NODE_MAJOR = 24;

/** One line saying what is wrong with this Node.js, or null when it will do. */
export function nodeVersionProblem(versions = process.versions, execPath = process.execPath) {
  const major = Number.parseInt(String(versions.node).split(".")[0], 10);
  if (major >= REQUIRED_NODE_MAJOR) return null;
  return (
    `PreqStation needs Node.js ${REQUIRED_NODE_MAJOR} or newer; this is Node.js ${versions.node} (${execPath}). ` +
    `Install Node.js ${REQUIRED_NODE_MAJOR} LTS (see .node-version), or run the single executable, which carries its own.`
  );
}

/** Stops the process with that one line (exit 1) when this Node.js is too old. */
export function requireSupportedNode() {
  const problem = nodeVersionProblem();
  if (problem === null) return;
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
