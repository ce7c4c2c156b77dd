import js from "@eslint/js";
import tseslint from "typescript-eslint";

/*
 * Import direction (README "Layout"), top to bottom; never upward, types included:
 *
 *   main.ts, app/entry.server.tsx
 *   app/server/ (the composition root), bin/ (the CLI)
 *   app/routes/, app/components/, app/root.tsx
 *   app/lib/api/
 *   app/lib/http/
 *   app/lib/{auth,oauth,tokens,tasks,projects}   (tasks may use projects, never the reverse)
 *   app/lib/command/
 *   app/lib/{audit,security,live}
 *   app/lib/domain/, app/lib/*.server.ts         (the foundations)
 *   db/
 *
 * Each pattern matches both the `~/` alias and relative specifiers (`../api/x`,
 * `./http/x`, `../../lib/api/x`); scripts/check-imports.mjs adds the module and folder
 * cycle checks. One rule entry per layer: a later `no-restricted-imports` replaces an
 * earlier one, so each layer lists everything above it.
 */
const lib = (folders, message) => ({ regex: `^(~/lib/|(\\.{1,2}/)+(lib/)?)(${folders})(/|$)`, message });
const UP = {
  server: {
    regex: "^(~/|(\\.{1,2}/)+(app/)?)server(/|$)",
    message:
      "Only the process (main.ts), the Remix entry and the CLI import the composition root (app/server): take what you need as a parameter or from context.services.",
  },
  api: lib(
    "api",
    "Only routes, components and the composition root import the API layer (app/lib/api): map domain errors there instead.",
  ),
  http: lib(
    "http",
    "The domain and the foundations never import the HTTP layer (app/lib/http); the API layer may, never the reverse.",
  ),
  domainFolders: lib(
    "auth|oauth|tokens|tasks|comments|projects",
    "The command runner and the foundations never import a domain folder: pass what they need in.",
  ),
  tasks: lib(
    "tasks",
    "Projects never import tasks (tasks belong to a project): put what both need below them (db/schema, app/lib/domain).",
  ),
  command: lib(
    "command",
    "Audit, security events, live updates and the foundations never import the command runner (app/lib/command).",
  ),
  auditSecurityLive: lib(
    "audit|security|live",
    "The foundations never import audit, security or live (app/lib/{audit,security,live}).",
  ),
  routes: {
    regex: "^(~/|(\\.{1,2}/)+(app/)?)routes(/|$)",
    message: "Only Remix imports route modules: move the shared code into app/lib.",
  },
  bin: {
    regex: "^(\\.{1,2}/)+bin(/|$)",
    message: "app/ never imports the CLI (bin/): the CLI calls the app's domain commands, not the other way.",
  },
  tests: { regex: "^(\\.{1,2}/)+tests(/|$)", message: "app/ never imports test code." },
  app: { regex: "^(~/|(\\.{1,2}/)+app(/|$))", message: "db/ (schema, frozen migrations) never imports app code." },
};
const restrict = (...rules) => ["error", { patterns: rules }];
const ENTRY = [UP.routes, UP.bin, UP.tests];
const ABOVE_ROUTES = [UP.server, ...ENTRY];
const LAYERS = [
  { files: ["app/server/**", "app/entry.server.tsx"], up: ENTRY },
  { files: ["bin/**"], up: [UP.routes, UP.tests] },
  { files: ["app/{routes,components}/**", "app/root.tsx", "app/routes.ts"], up: ABOVE_ROUTES },
  { files: ["app/lib/api/**"], up: ABOVE_ROUTES },
  { files: ["app/lib/http/**"], up: [UP.api, ...ABOVE_ROUTES] },
  { files: ["app/lib/{auth,oauth,tokens,tasks,comments}/**"], up: [UP.http, UP.api, ...ABOVE_ROUTES] },
  { files: ["app/lib/projects/**"], up: [UP.tasks, UP.http, UP.api, ...ABOVE_ROUTES] },
  { files: ["app/lib/command/**"], up: [UP.domainFolders, UP.http, UP.api, ...ABOVE_ROUTES] },
  { files: ["app/lib/{audit,security,live}/**"], up: [UP.command, UP.domainFolders, UP.http, UP.api, ...ABOVE_ROUTES] },
  {
    files: ["app/lib/domain/**", "app/lib/*.{ts,tsx}"],
    up: [UP.auditSecurityLive, UP.command, UP.domainFolders, UP.http, UP.api, ...ABOVE_ROUTES],
  },
  { files: ["db/**"], up: [UP.app, UP.bin, UP.tests] },
];

export default tseslint.config(
  {
    ignores: [
      ".cache/**",
      "build/**",
      "dist/**",
      "node_modules/**",
      "test-results/**",
      "playwright-report/**",
      "bench/results/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        Buffer: "readonly",
        URL: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        performance: "readonly",
        fetch: "readonly",
        Response: "readonly",
        Request: "readonly",
        Headers: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" },
      ],
      "@typescript-eslint/no-explicit-any": ["error", { ignoreRestArgs: true }],
      "no-empty": ["error", { allowEmptyCatch: false }],
      eqeqeq: ["error", "always"],
    },
  },
  ...LAYERS.map(({ files, up }) => ({ files, rules: { "no-restricted-imports": restrict(...up) } })),
  {
    // Migrations are typed Kysely<any> on purpose: frozen in time, independent of today's schema.
    files: ["db/migrations/**"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
);
