// No import cycles: parses the import specifiers of the project's own modules (app/,
// db/, bin/, server.ts, main.ts), resolves relative and `~/` ones to files, and reports
// every strongly connected group of modules that import each other, type-only imports
// included (a cycle of types is still two modules that cannot be understood apart).
// The import direction between folders is ESLint's (no-restricted-imports, eslint.config.js).
// Dependency-free; run by `npm run lint`. Exit 1 when a cycle exists.
//   node scripts/check-imports.mjs [--graph]
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ENTRIES = ["app", "db", "bin", "server.ts", "main.ts"];
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

// Tarjan's strongly connected components.
let index = 0;
const stack = [];
const meta = new Map();
const cycles = [];
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
    if (group.length > 1) cycles.push(group.sort());
  }
}
for (const f of files) if (!meta.has(f)) connect(f);

/** One concrete loop through a group, for the message: A → B → … → A. */
function loopThrough(group) {
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

if (process.argv.includes("--graph")) {
  for (const [f, deps] of graph) process.stdout.write(`${f}\n${deps.map((d) => `  → ${d}\n`).join("")}`);
}
if (cycles.length) {
  process.stderr.write(
    `check-imports: ${cycles.length} import cycle${cycles.length > 1 ? "s" : ""} among ${files.length} modules:\n`,
  );
  for (const group of cycles) process.stderr.write(`  ${loopThrough(group).join(" → ")}\n`);
  process.exit(1);
}
process.stdout.write(`check-imports: no import cycles among ${files.length} modules\n`);
