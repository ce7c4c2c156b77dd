/**
 * The one entry of the PreqStation process, for both ways of running it:
 *   - `npm start` / `node build/node/server.js`: an ES module bundle next to build/client,
 *     packages and the SQLite addon from node_modules;
 *   - `dist/preqstation`, the single executable (`npm run package`): a CommonJS bundle of
 *     everything, the client files and the addon embedded as SEA assets.
 * Only where the client files and the addon come from differs; the server, the CLI and
 * the Remix build (bundled in statically) are the same code in both.
 *
 *   preqstation                 serve (configuration from the environment)
 *   preqstation <command …>     the admin CLI
 *   preqstation --version       print the version
 *   preqstation --help          print the usage
 *
 * Written for CommonJS too: no top-level await, only built-in modules at run time.
 */
import path from "node:path";
import sea from "node:sea";
import { fileURLToPath } from "node:url";
import * as serverBuild from "virtual:preqstation/server-build";
import { main as cli, USAGE } from "./bin/cli";
import type { DatabaseOptions } from "./app/lib/db.server";
import { ConfigError, loadConfig, type Config } from "./app/lib/env.server";
import { AddonError, addonCacheDir, loadAddon, sha256, unpackAddon } from "./app/server/runtime/native-addon.server";
import { loadStaticFilesFromDir, staticFilesFrom, type StaticFiles } from "./app/server/runtime/static-files.server";
import { SEA_MANIFEST_ASSET, type SeaManifest } from "./app/server/runtime/sea-manifest";
import { VERSION } from "./app/lib/version.server";
import { requireSupportedNode } from "./scripts/node-version.mjs";
import { startServer } from "./app/server/start.server";

/** Where this process takes its client files and SQLite addon from. */
interface Sources {
  staticFiles(): StaticFiles;
  database(config: Config): DatabaseOptions;
}

/** A damaged or incomplete executable: one line telling the user to replace it. */
function damaged(what: string): AddonError {
  return new AddonError(`this executable is damaged or incomplete (${what}); download or build it again`);
}

function seaAsset(key: string): ArrayBuffer {
  try {
    // getRawAsset: the bytes in place, no copy (the returned type also admits a string, which only getAsset with an encoding gives).
    return sea.getRawAsset(key) as ArrayBuffer;
  } catch {
    throw damaged(`the embedded file ${key} is missing`);
  }
}

/** The single executable: every file comes out of its SEA assets, checked against the embedded manifest. */
function seaSources(env: NodeJS.ProcessEnv): Sources {
  let manifest: SeaManifest;
  try {
    manifest = JSON.parse(Buffer.from(seaAsset(SEA_MANIFEST_ASSET)).toString("utf8")) as SeaManifest;
  } catch (error) {
    throw error instanceof AddonError ? error : damaged("its file list cannot be read");
  }
  if (manifest.version !== VERSION) throw damaged(`its files are from version ${manifest.version}, its code from ${VERSION}`);
  return {
    staticFiles() {
      return staticFilesFrom(
        manifest.client.map(({ path: rel, sha256: expected }) => {
          // A copy: Buffers handed to responses must not alias the executable's read-only memory.
          const body = Buffer.from(sea.getAsset(`client/${rel}`));
          if (sha256(body) !== expected) throw damaged(`the embedded file client/${rel} does not match its hash`);
          return [rel, body] as const;
        }),
      );
    },
    database(config) {
      const bytes = new Uint8Array(seaAsset(manifest.addon.asset));
      const unpacked = unpackAddon(addonCacheDir(env, config.databasePath), bytes, manifest.addon.sha256);
      if (unpacked.state === "replaced") {
        process.stderr.write(`preqstation: ${unpacked.file} did not match its SHA-256 and was replaced\n`);
      }
      return { nativeBinding: loadAddon(unpacked) };
    },
  };
}

/** `npm start`: the client build next to this bundle (build/node/server.js → build/client), the addon from node_modules. */
function diskSources(): Sources {
  const buildDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  return {
    staticFiles: () => loadStaticFilesFromDir(path.join(buildDir, "client")),
    database: () => ({}),
  };
}

function usage(): string {
  return `PreqStation ${VERSION}

  preqstation                 serve (PORT, HOST, DATABASE_PATH, … from the environment; ./data/ by default)
  preqstation <command …>     the admin CLI (below)
  preqstation --version       print the version

${USAGE}
`;
}

/** Starts the server; a bad setting, an unusable addon folder, a port in use: one clear line and exit 1. */
async function serve(sources: Sources): Promise<void> {
  try {
    const config = loadConfig();
    await startServer(config, { build: serverBuild, staticFiles: sources.staticFiles(), database: sources.database(config) });
  } catch (error) {
    const message =
      error instanceof ConfigError
        ? error.message
        : `PreqStation could not start: ${error instanceof Error ? error.message : String(error)}`;
    process.stderr.write(`${message}\n`);
    process.exit(1);
  }
}

async function run(argv: string[]): Promise<void> {
  requireSupportedNode();
  if (argv[0] === "--version" || argv[0] === "-v") {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  if (argv[0] === "--help" || argv[0] === "-h") {
    process.stdout.write(usage());
    return;
  }
  let sources: Sources;
  try {
    const isSea = sea.isSea();
    sources = isSea ? seaSources(process.env) : diskSources();
  } catch (error) {
    process.stderr.write(`preqstation: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  if (argv.length === 0) return serve(sources);
  process.exitCode = await cli(argv, undefined, process.env, (config) => sources.database(config));
}

// In the executable argv[1] is the executable again (Node's single-executable convention); with `node file.js` it is the script.
run(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`preqstation: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
