/**
 * The Remix server build (build/server/index.js), bundled into main.ts statically by
 * esbuild (scripts/build.mjs resolves this name), so the single executable needs no
 * file of it on disk and `npm start` runs the very same way.
 */
declare module "virtual:preqstation/server-build" {
  import type { ServerBuild } from "@remix-run/node";

  const build: ServerBuild;
  export = build;
}
