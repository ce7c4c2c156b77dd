import js from "@eslint/js";
import tseslint from "typescript-eslint";

/*
 * Import direction (README "Layout"): routes → api/http → domain → foundations → db/.
 * Never upward, types included. Each pattern matches both the `~/` alias and relative
 * specifiers (`../api/x`, `./http/x`, `../../lib/api/x`); scripts/check-imports.mjs adds
 * the cycle check. One rule entry per folder group: a later `no-restricted-imports`
 * replaces an earlier one, so each group lists everything it may not reach.
 */
const UP = {
  api: {
    regex: "^(~/lib/|(\\.{1,2}/)+(lib/)?)api(/|$)",
    message: "The domain and the foundations never import the API layer (app/lib/api): map domain errors there instead.",
  },
  http: {
    regex: "^(~/lib/|(\\.{1,2}/)+(lib/)?)http(/|$)",
    message: "The domain and the foundations never import the HTTP layer (app/lib/http).",
  },
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
const DOMAIN_AND_FOUNDATIONS = [
  "app/lib/{auth,audit,oauth,security,tasks,projects,comments,tokens,domain,runtime,live}/**",
  "app/lib/*.{ts,tsx}",
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
  { files: DOMAIN_AND_FOUNDATIONS, rules: { "no-restricted-imports": restrict(UP.api, UP.http, UP.routes, UP.bin, UP.tests) } },
  { files: ["app/lib/{api,http}/**"], rules: { "no-restricted-imports": restrict(UP.routes, UP.bin, UP.tests) } },
  { files: ["app/{routes,components}/**", "app/*.{ts,tsx}"], rules: { "no-restricted-imports": restrict(UP.bin, UP.tests) } },
  { files: ["db/**"], rules: { "no-restricted-imports": restrict(UP.app, UP.bin, UP.tests) } },
  {
    // Migrations are typed Kysely<any> on purpose: frozen in time, independent of today's schema.
    files: ["db/migrations/**"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
);
