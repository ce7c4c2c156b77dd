// Builds what `npm start` and the CLI run, only when the sources changed:
//   - the Remix app (client assets and server build) with `remix vite:build`;
//   - main.ts (the server entry, with the Remix server build bundled in) and bin/cli.ts,
//     bundled by esbuild into build/node/ (packages stay in node_modules).
// Usage: node scripts/build.mjs [--force] [--cli-only]
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const buildDir = path.join(root, "build");

const APP_SOURCES = [
  "app",
  "db",
  "bin",
  "public",
  "main.ts",
  "package.json",
  "package-lock.json",
  "remix.config.js",
  "vite.config.ts",
  "tsconfig.json",
];
const CLI_SOURCES = ["app/lib", "app/server", "db", "bin", "package.json", "package-lock.json"];

/** A fingerprint of the sources: every file's path, size and modification time. */
function fingerprint(entries) {
  const hash = createHash("sha256");
  const visit = (rel) => {
    const full = path.join(root, rel);
    if (!fs.existsSync(full)) return;
    const stat = fs.statSync(full);
    if (stat.isDirectory()) {
      for (const name of fs.readdirSync(full).sort()) visit(path.join(rel, name));
    } else {
      hash.update(`${rel}\0${stat.size}\0${stat.mtimeMs}\n`);
    }
  };
  entries.forEach(visit);
  return hash.digest("hex");
}

function stampFile(name) {
  return path.join(buildDir, `.stamp-${name}`);
}

function isFresh(name, sources, outputs) {
  try {
    return (
      outputs.every((o) => fs.existsSync(path.join(root, o))) && fs.readFileSync(stampFile(name), "utf8") === fingerprint(sources)
    );
  } catch {
    return false;
  }
}

function run(cmd, args) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: ["ignore", "inherit", "inherit"], env: process.env });
  if (result.status !== 0)
    throw new Error(`${path.basename(cmd)} ${args.join(" ")} failed (exit ${result.status ?? result.signal})`);
}

/** esbuild plugin: `virtual:preqstation/server-build` is the Remix server build (see app/server/runtime/server-build.d.ts). */
export const serverBuildPlugin = {
  name: "preqstation-server-build",
  setup(build) {
    build.onResolve({ filter: /^virtual:preqstation\/server-build$/ }, () => ({
      path: path.join(buildDir, "server", "index.js"),
    }));
  },
};

async function bundle(entry, outfile) {
  const esbuild = await import("esbuild");
  await esbuild.build({
    entryPoints: [path.join(root, entry)],
    outfile: path.join(buildDir, outfile),
    plugins: [serverBuildPlugin],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: true,
    logLevel: "warning",
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
  });
}

/**
 * Runs `fn` holding a lock directory, so two processes (parallel test runs, a CLI
 * call while `npm start` builds) never write build/ at the same time.
 */
async function withBuildLock(fn) {
  const lock = path.join(root, ".build.lock");
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
      // A lock older than three minutes was left by a killed build.
      try {
        if (Date.now() - fs.statSync(lock).mtimeMs > 180_000) fs.rmSync(lock, { recursive: true, force: true });
      } catch {
        // it was released meanwhile
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for another build (${lock})`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** Builds the CLI bundle if its sources changed. Fast (esbuild only). */
export async function ensureCliBuilt({ force = false } = {}) {
  if (!force && isFresh("cli", CLI_SOURCES, ["build/node/cli.js"])) return false;
  return withBuildLock(async () => {
    if (!force && isFresh("cli", CLI_SOURCES, ["build/node/cli.js"])) return false;
    await bundle("bin/cli.ts", "node/cli.js");
    fs.writeFileSync(stampFile("cli"), fingerprint(CLI_SOURCES));
    return true;
  });
}

/** Builds the app and server bundles if their sources changed. */
export async function ensureAppBuilt({ force = false, quiet = false } = {}) {
  if (!force && isFresh("app", APP_SOURCES, ["build/server/index.js", "build/node/server.js"])) return false;
  return withBuildLock(async () => {
    if (!force && isFresh("app", APP_SOURCES, ["build/server/index.js", "build/node/server.js"])) return false;
    if (!quiet) process.stderr.write("Building PreqStation (sources changed since the last build)…\n");
    run(process.execPath, [path.join(root, "node_modules/@remix-run/dev/dist/cli.js"), "vite:build", "--logLevel", "warn"]);
    await bundle("main.ts", "node/server.js");
    fs.mkdirSync(buildDir, { recursive: true });
    fs.writeFileSync(stampFile("app"), fingerprint(APP_SOURCES));
    return true;
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const force = process.argv.includes("--force");
  try {
    if (!process.argv.includes("--cli-only")) await ensureAppBuilt({ force });
    await ensureCliBuilt({ force });
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
