// `npm start`: build if the build is missing or stale, then run the server in
// this same process (so signals reach it directly). The server migrates the
// database itself before it listens.
import { requireSupportedNode } from "./node-version.mjs";

requireSupportedNode();
const { ensureAppBuilt } = await import("./build.mjs");

try {
  await ensureAppBuilt();
} catch (error) {
  process.stderr.write(`Build failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
await import("../build/node/server.js");
