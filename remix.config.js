// Shared Remix options. The Vite plugin never reads this file on its own:
// `vite.config.ts` passes these options to `remix()`, and `app/routes.ts`
// passes `ignoredRouteFiles` to `flatRoutes()` (the plugin ignores that option
// once `v3_routeConfig` is on).

/** Every Remix v3 future flag, on. */
export const future = {
  v3_fetcherPersist: true,
  v3_relativeSplatPath: true,
  v3_throwAbortReason: true,
  v3_lazyRouteDiscovery: true,
  v3_singleFetch: true,
  v3_routeConfig: true,
};

/** Files under app/routes that are never routes (tests, styles, helpers). */
export const ignoredRouteFiles = ["**/.*", "**/*.test.{ts,tsx}", "**/*.css"];

/** @type {import('@remix-run/dev').VitePluginConfig} */
export default {
  appDirectory: "app",
  buildDirectory: "build",
  serverBuildFile: "index.js",
  serverModuleFormat: "esm",
  future,
};
