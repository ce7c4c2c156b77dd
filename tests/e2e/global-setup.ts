// Playwright global setup: the suite runs against the production build, built
// (if stale) exactly as for vitest.
export { default } from "../support/global-setup";
