/**
 * The README's "data moves one way", checked (`npm run lint:deps`, run by
 * .ci/run before the tests): the domain and the read model depend on nothing
 * outside them, configuration loads no adapter, and adapters do not reach
 * sideways into entry points. The composition root (src/start.ts,
 * src/runtime.ts) is where outer layers meet, so it is not constrained here.
 *
 * Type-only imports count (`tsPreCompilationDeps`): a type from the store
 * adapter in the domain ties the domain to that adapter as much as a value.
 */

/** Adapters and entry points: what an inner layer never imports. */
const OUTER = "^src/(github|http|cli|store|providers|metrics)/";
/** Datastore and GitHub clients, resolved (`…/node_modules/pg/lib/index.js`, or its `@types`) or not (`pg`). */
const DRIVERS = "(^|(^|/)node_modules/)(@types/)?(ioredis|better-sqlite3|pg|probot|octokit|@octokit/[^/]+)(/|$)";

module.exports = {
  forbidden: [
    {
      name: "lifecycle-imports-nothing-outer",
      comment: "src/lifecycle is the domain and its ports: adapters (store, providers, github), entry points (http, cli) and metrics depend on it, never the reverse.",
      severity: "error",
      from: { path: "^src/lifecycle/" },
      to: { path: OUTER },
    },
    {
      name: "lifecycle-loads-no-driver",
      comment: "src/lifecycle talks to Redis, SQLite, PostgreSQL and GitHub only through its ports: only adapters import a driver.",
      severity: "error",
      from: { path: "^src/lifecycle/" },
      to: { path: DRIVERS },
    },
    {
      name: "read-model-imports-nothing-outer",
      comment: "src/read-model (the views the CLI, the admin API and the dashboard render) reads through the lifecycle's store port: those entry points depend on it, never the reverse.",
      severity: "error",
      from: { path: "^src/read-model/" },
      to: { path: OUTER },
    },
    {
      name: "read-model-loads-no-driver",
      comment: "src/read-model reads through the store port, whichever adapter is behind it.",
      severity: "error",
      from: { path: "^src/read-model/" },
      to: { path: DRIVERS },
    },
    {
      name: "config-imports-no-adapter",
      comment: "Reading the configuration must not load an adapter (and its driver): the CLI reads it before it knows which store to open.",
      severity: "error",
      from: { path: "^src/config/" },
      to: { path: ["^src/(providers|store)/", DRIVERS] },
    },
    {
      name: "http-imports-no-cli",
      comment: "The HTTP routes and the CLI are two entry points: what both need (the read model, redaction) lives below them.",
      severity: "error",
      from: { path: "^src/http/" },
      to: { path: "^src/cli/" },
    },
    {
      name: "store-adapter-imports-no-entry-point",
      comment: "A store adapter implements the lifecycle's port and knows nothing of who calls it.",
      severity: "error",
      from: { path: "^src/store/" },
      to: { path: "^src/(github|http|cli)/" },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
    // Node's own modules (node:fs) are no layer.
    exclude: { path: "^node:" },
  },
};
