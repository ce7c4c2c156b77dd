// Playwright global setup: the suite runs against the production build.
export default async function globalSetup() {
  const { ensureAppBuilt, ensureCliBuilt } = await import("../../scripts/build.mjs");
  await ensureAppBuilt({ quiet: true });
  await ensureCliBuilt();
}
