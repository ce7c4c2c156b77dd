#!/usr/bin/env node
// The admin CLI entry (`npx preqstation <command>`). Bundles bin/cli.ts when its
// sources changed (esbuild, well under a second), then runs it.
import { requireSupportedNode } from "../scripts/node-version.mjs";

requireSupportedNode();
const { ensureCliBuilt } = await import("../scripts/build.mjs");

try {
  await ensureCliBuilt();
} catch (error) {
  process.stderr.write(`preqstation: could not build the CLI: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
const { main } = await import("../build/node/cli.js");
process.exitCode = await main(process.argv.slice(2));
