// Where the SQLite addon that `import "better-sqlite3"` loads lives on this machine.
// better-sqlite3 13 ships prebuilt binaries (prebuilds/<platform>-<arch>.node) and uses a
// node-gyp build (build/Release) only when one was compiled on purpose; this asks the
// library's own resolver (lib/binding.js, required by path: its package exports hide it)
// so the single executable embeds exactly the file `npm start` runs.
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);

export function sqliteAddonPath() {
  const pkgDir = path.dirname(require.resolve("better-sqlite3/package.json"));
  for (const build of ["Debug", "Release"]) {
    const compiled = path.join(pkgDir, "build", build, "better_sqlite3.node");
    if (fs.existsSync(compiled)) return compiled;
  }
  const prebuilt = require(path.join(pkgDir, "lib", "binding.js")).getPrebuildPath();
  if (!prebuilt) throw new Error(`better-sqlite3 has no addon for ${process.platform}-${process.arch}: run npm ci first`);
  return prebuilt;
}
