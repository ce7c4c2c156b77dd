// No import cycles: parses the import specifiers of the project's own modules (app/,
// db/, bin/, main.ts), resolves relative and `~/` ones to files, and reports every
// strongly connected group of modules that import each other, type-only imports
// included (a cycle of types is still two modules that cannot be understood apart).
// Then the same for folders (see `folderOf`): two folders that import each other, even
// through different modules, are one layer in two places; each folder cycle is printed
// with one example import per direction. The direction between folders is ESLint's
// (no-restricted-imports, eslint.config.js) and the README's layer diagram.
// Dependency-free; run by `npm run lint`. Exit 1 when a module or folder cycle exists.
//   node scripts/check-imports.mjs [--graph] [--folders]
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ENTRIES = ["app", "db", "bin", "main.ts"];
const EXTENSIONS = [".ts", ".tsx", ".js", ".mjs"];

function listSources(rel) {
  const full = path.join(root, rel);
  if (!fs.existsSync(full)) return [];
  if (fs.statSync(full).isFile()) return EXTENSIONS.includes(path.extname(rel)) && !rel.endsWith(".d.ts") ? [rel] : [];
  return fs
    .readdirSync(full)
    .sort()
    .flatMap((name) => listSources(path.join(rel, name)));
}

/** Comments and string/template contents that are not specifiers would confuse the scan: strip comments only. */
function stripComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, " ")).replace(/(^|[^:"'`\\])\/\/[^\n]*/g, "$1");
}

const SPECIFIER =
  /(?:^|[;\n}])\s*(?:import|export)\s+(?:type\s+)?(?:[\w*${}\s,]+?\s+from\s+)?["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)/g;

function specifiers(file) {
  const text = stripComments(fs.readFileSync(path.join(root, file), "utf8"));
  const found = [];
  for (const m of text.matchAll(SPECIFIER)) found.push(m[1] ?? m[2]);
  return found;
}

function resolve(from, specifier) {
  let base;
  if (specifier.startsWith("~/")) base = path.join("app", specifier.slice(2));
  else if (specifier.startsWith("./") || specifier.startsWith("../")) base = path.join(path.dirname(from), specifier);
  else return null; // a package or node: built-in
  const candidates = [base, ...EXTENSIONS.map((e) => base + e), ...EXTENSIONS.map((e) => path.join(base, `index${e}`))];
  return candidates.find((c) => fs.existsSync(path.join(root, c)) && fs.statSync(path.join(root, c)).isFile()) ?? null;
}

const files = ENTRIES.flatMap(listSources);
const graph = new Map(
  files.map((f) => [
    f,
    [
      ...new Set(
        specifiers(f)
          .map((s) => resolve(f, s))
          .filter((r) => r && r !== f),
      ),
    ],
  ]),
);

/** Tarjan's strongly connected components of `graph`: every group of more than one node that reach each other. */
function stronglyConnected(graph) {
  let index = 0;
  const stack = [];
  const meta = new Map();
  const groups = [];
  function connect(v) {
    meta.set(v, { index, low: index, onStack: true });
    index += 1;
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!meta.has(w)) {
        connect(w);
        meta.get(v).low = Math.min(meta.get(v).low, meta.get(w).low);
      } else if (meta.get(w).onStack) {
        meta.get(v).low = Math.min(meta.get(v).low, meta.get(w).index);
      }
    }
    if (meta.get(v).low === meta.get(v).index) {
      const group = [];
      let w;
      do {
        w = stack.pop();
        meta.get(w).onStack = false;
        group.push(w);
      } while (w !== v);
      if (group.length > 1) groups.push(group.sort());
    }
  }
  for (const v of graph.keys()) if (!meta.has(v)) connect(v);
  return groups;
}

/** One concrete loop through a group, for the message: A → B → … → A. */
function loopThrough(graph, group) {
  const members = new Set(group);
  const start = group[0];
  const previous = new Map([[start, null]]);
  const queue = [start];
  while (queue.length) {
    const v = queue.shift();
    for (const w of graph.get(v)) {
      if (w === start) {
        const loop = [];
        for (let x = v; x !== null; x = previous.get(x)) loop.unshift(x);
        return [...loop, start];
      }
      if (members.has(w) && !previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return group;
}

/**
 * The folder a module belongs to, for the folder-level check: each folder of app/lib
 * (app/lib/auth/two-factor is app/lib/auth), app/lib's own files (the foundations:
 * db, env, logger, key files, cookies, prepared queries, version) as `app/lib`,
 * app/server (the composition root), app/routes, app/components, app's own files
 * (root.tsx, entry.server.tsx, routes.ts) as `app`, db/, bin/, and main.ts.
 */
function folderOf(file) {
  const parts = file.split(path.sep);
  if (parts[0] === "app" && parts[1] === "lib") return parts.length > 3 ? `app/lib/${parts[2]}` : "app/lib";
  if (parts[0] === "app") return parts.length > 2 ? `app/${parts[1]}` : "app";
  return parts.length > 1 ? parts[0] : file;
}

const cycles = stronglyConnected(graph);

/** folder → folder → the first module import that makes the edge, e.g. "app/lib/x/a.ts → app/lib/y/b.ts". */
const folderEdges = new Map();
for (const [from, deps] of graph) {
  for (const to of deps) {
    if (!graph.has(to)) continue;
    const a = folderOf(from);
    const b = folderOf(to);
    if (a === b) continue;
    if (!folderEdges.has(a)) folderEdges.set(a, new Map());
    if (!folderEdges.get(a).has(b)) folderEdges.get(a).set(b, `${from} → ${to}`);
  }
}
const folderGraph = new Map(
  [...new Set(files.map(folderOf))].sort().map((f) => [f, [...(folderEdges.get(f)?.keys() ?? [])].sort()]),
);
const folderCycles = stronglyConnected(folderGraph);

if (process.argv.includes("--graph")) {
  for (const [f, deps] of graph) process.stdout.write(`${f}\n${deps.map((d) => `  → ${d}\n`).join("")}`);
}
if (process.argv.includes("--folders")) {
  for (const [f, deps] of folderGraph)
    process.stdout.write(`${f}\n${deps.map((d) => `  → ${d}  (${folderEdges.get(f).get(d)})\n`).join("")}`);
}
if (cycles.length) {
  process.stderr.write(
    `check-imports: ${cycles.length} import cycle${cycles.length > 1 ? "s" : ""} among ${files.length} modules:\n`,
  );
  for (const group of cycles) process.stderr.write(`  ${loopThrough(graph, group).join(" → ")}\n`);
}
if (folderCycles.length) {
  process.stderr.write(
    `check-imports: ${folderCycles.length} folder cycle${folderCycles.length > 1 ? "s" : ""} among ${folderGraph.size} folders ` +
      '(move the shared piece down a layer; README "Layout"):\n',
  );
  const edge = (a, b) => folderEdges.get(a).get(b);
  for (const group of folderCycles) {
    // Each pair of folders that import each other directly, with one import each way;
    // a longer loop (A → B → C → A) is printed hop by hop when no such pair exists.
    const pairs = group.flatMap((a, i) =>
      group
        .slice(i + 1)
        .filter((b) => edge(a, b) && edge(b, a))
        .map((b) => [a, b]),
    );
    const loops = pairs.length ? pairs.map(([a, b]) => [a, b, a]) : [loopThrough(folderGraph, group)];
    process.stderr.write(`  ${group.join(", ")}:\n`);
    for (const loop of loops) {
      process.stderr.write(`    ${loop.join(" → ")}\n`);
      for (let i = 0; i + 1 < loop.length; i += 1) process.stderr.write(`      ${edge(loop[i], loop[i + 1])}\n`);
    }
  }
}
if (cycles.length || folderCycles.length) process.exit(1);
process.stdout.write(
  `check-imports: no import cycles among ${files.length} modules, no folder cycles among ${folderGraph.size} folders\n`,
);
