import fs from "node:fs";
import path from "node:path";

/** One file of the client build, held in memory: no request ever touches the disk for it. */
export interface StaticFile {
  body: Buffer;
  type: string;
  cacheControl: string;
}

/** URL path (`/assets/root-abc.js`) → file. */
export type StaticFiles = Map<string, StaticFile>;

const MIME: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".webmanifest": "application/manifest+json",
  ".woff2": "font/woff2",
};

/** The URL path a client-build file is served at, from its path relative to the build folder (`/` separated). */
export function urlPathOf(relativePath: string): string {
  return `/${relativePath.split("/").map(encodeURIComponent).join("/")}`;
}

/** The in-memory table from (relative path, bytes) pairs: the same whether they come from build/client or the executable. */
export function staticFilesFrom(entries: Iterable<readonly [relativePath: string, body: Buffer]>): StaticFiles {
  const files: StaticFiles = new Map();
  for (const [relativePath, body] of entries) {
    const urlPath = urlPathOf(relativePath);
    files.set(urlPath, {
      body,
      type: MIME[path.posix.extname(relativePath)] ?? "application/octet-stream",
      cacheControl: urlPath.startsWith("/assets/") ? "public, max-age=31536000, immutable" : "public, max-age=3600",
    });
  }
  return files;
}

/** Every file under `dir`, as paths relative to it with `/` separators, sorted. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) out.push(path.relative(dir, full).split(path.sep).join("/"));
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out.sort();
}

/** Loads every file of the client build folder into memory once. */
export function loadStaticFilesFromDir(dir: string): StaticFiles {
  return staticFilesFrom(listFiles(dir).map((rel) => [rel, fs.readFileSync(path.join(dir, ...rel.split("/")))] as const));
}
