/**
 * The list of files embedded in the single executable (node:sea has no way to list its
 * assets), written by scripts/package.mjs as the asset `manifest.json` and checked at start.
 */
export const SEA_MANIFEST_ASSET = "manifest.json";

export interface SeaManifest {
  /** package.json's version at packaging time: must equal the bundled code's. */
  version: string;
  /** The SQLite addon: its asset key and SHA-256 (hex). */
  addon: { asset: string; sha256: string };
  /** The client build, each file at asset key `client/<path>`. */
  client: { path: string; sha256: string }[];
}
