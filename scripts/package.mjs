// `npm run package`: writes dist/preqstation, a Node.js single executable application
// (node:sea) holding the server, the CLI, the migrations, the client files and the
// SQLite addon. Steps:
//   1. the app build (scripts/build.mjs, only if sources changed);
//   2. main.ts bundled by esbuild into one CommonJS file with every package inside
//      (a SEA main may require only built-in modules);
//   3. the SEA blob: that bundle plus the client files and better_sqlite3.node as assets,
//      and manifest.json listing them with their SHA-256;
//   4. a copy of this node binary, stripped of its debug symbols, with the blob injected by
//      postject, then renamed into place.
// Skips everything after step 1 when nothing that goes into the executable changed.
// Usage: node scripts/package.mjs [--force]
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { ensureAppBuilt, ensureCliBuilt, root, serverBuildPlugin } from "./build.mjs";
import { sqliteAddonPath } from "./sqlite-addon.mjs";

const require = createRequire(import.meta.url);
const distDir = path.join(root, "dist");
const workDir = path.join(distDir, ".sea");
const output = path.join(distDir, "preqstation");
const FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

function listFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) out.push(path.relative(dir, full).split(path.sep).join("/"));
    }
  };
  walk(dir);
  return out.sort();
}

function run(cmd, args) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  if (result.status !== 0) {
    throw new Error(
      `${path.basename(cmd)} ${args.join(" ")} failed (exit ${result.status ?? result.signal}):\n${result.stdout}${result.stderr}`,
    );
  }
}

/**
 * The official Node.js binary carries its symbol table and DWARF debug information
 * (18 MiB of Node 24's 121 MiB) that nothing loads at run time: `strip` drops them and
 * keeps the dynamic symbols native addons link against (the SQLite addon loads from the
 * stripped binary; tests/sea runs it). Only native crash backtraces lose function names;
 * JavaScript stack traces are unchanged. Without binutils' strip, the binary is copied whole.
 */
function copyNodeBinary(from, to, log) {
  const result = spawnSync("strip", ["--strip-all", "-o", to, from], { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  if (result.status === 0) return;
  log(`strip is not available (${result.error?.message ?? result.stderr.trim()}): embedding the unstripped Node.js binary`);
  fs.rmSync(to, { force: true });
  fs.copyFileSync(from, to);
}

export async function packageExecutable({ force = false, log = (t) => process.stderr.write(`${t}\n`) } = {}) {
  const started = performance.now();
  await ensureAppBuilt({ quiet: true });
  await ensureCliBuilt();
  fs.mkdirSync(workDir, { recursive: true });

  const mainFile = path.join(workDir, "main.cjs");
  const esbuild = await import("esbuild");
  await esbuild.build({
    entryPoints: [path.join(root, "main.ts")],
    outfile: mainFile,
    plugins: [serverBuildPlugin],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    // The executable is a production build: React and Remix choose their production code at bundle time.
    define: { "process.env.NODE_ENV": '"production"' },
    minifySyntax: true,
    legalComments: "none",
    logLevel: "warning",
    // import.meta.url is only read on the `npm start` path (files on disk), never in the executable.
    logOverride: { "empty-import-meta": "silent" },
  });

  const clientDir = path.join(root, "build", "client");
  const clientFiles = listFiles(clientDir);
  const addon = sqliteAddonPath();
  const version = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).version;
  const manifest = {
    version,
    addon: { asset: "better_sqlite3.node", sha256: sha256(fs.readFileSync(addon)) },
    client: clientFiles.map((rel) => ({ path: rel, sha256: sha256(fs.readFileSync(path.join(clientDir, rel))) })),
  };
  const manifestFile = path.join(workDir, "manifest.json");
  fs.writeFileSync(manifestFile, JSON.stringify(manifest));

  const assets = { "manifest.json": manifestFile, "better_sqlite3.node": addon };
  for (const rel of clientFiles) assets[`client/${rel}`] = path.join(clientDir, rel);
  const blob = path.join(workDir, "sea-prep.blob");
  const config = { main: mainFile, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true, assets };

  // Everything the executable is made of: unchanged → the existing file is current.
  const fingerprint = createHash("sha256");
  fingerprint.update(JSON.stringify(config));
  fingerprint.update(fs.readFileSync(mainFile));
  fingerprint.update(fs.readFileSync(manifestFile));
  fingerprint.update(fs.readFileSync(path.join(root, "scripts", "package.mjs")));
  fingerprint.update(`${process.execPath}\0${process.version}\0${fs.statSync(process.execPath).size}`);
  const stamp = fingerprint.digest("hex");
  const stampFile = path.join(workDir, "stamp");
  const readStamp = () => {
    try {
      return fs.readFileSync(stampFile, "utf8");
    } catch {
      return "";
    }
  };
  if (!force && fs.existsSync(output) && fs.existsSync(`${output}.sha256`) && readStamp() === stamp) {
    log(`dist/preqstation is up to date (${Math.round(performance.now() - started)} ms)`);
    return { output, rebuilt: false };
  }

  const configFile = path.join(workDir, "sea-config.json");
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  run(process.execPath, ["--experimental-sea-config", configFile]);

  const temp = path.join(distDir, `.preqstation.${process.pid}.tmp`);
  fs.rmSync(temp, { force: true });
  copyNodeBinary(process.execPath, temp, log);
  fs.chmodSync(temp, 0o755);
  const postject = path.join(path.dirname(require.resolve("postject/package.json")), "dist", "cli.js");
  try {
    run(process.execPath, [postject, temp, "NODE_SEA_BLOB", blob, "--sentinel-fuse", FUSE]);
    // A checksum file beside it: a truncated copy crashes inside Node's loader before any of
    // our code runs, so `sha256sum -c preqstation.sha256` (e.g. systemd's ExecStartPre) is how to refuse one.
    fs.writeFileSync(`${output}.sha256`, `${sha256(fs.readFileSync(temp))}  preqstation\n`);
    fs.renameSync(temp, output);
  } finally {
    fs.rmSync(temp, { force: true });
  }
  fs.writeFileSync(stampFile, stamp);
  const size = fs.statSync(output).size;
  log(
    `dist/preqstation written: ${(size / 1024 / 1024).toFixed(1)} MiB in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  return { output, rebuilt: true };
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.join(root, "scripts", "package.mjs")) {
  try {
    await packageExecutable({ force: process.argv.includes("--force") });
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
