// Vitest global setup: make sure the production build exists and is current,
// since integration tests run the real server and CLI.
export default async function setup() {
  const { ensureAppBuilt, ensureCliBuilt } = await import("../../scripts/build.mjs");
  await ensureAppBuilt({ quiet: true });
  await ensureCliBuilt();
}
