/**
 * A reconciler worker as its own process, for the crash and multi-worker
 * tests (bundled and started by worker-spawn.ts), configured by
 * the WORKER_PARAMS variable (JSON: `WorkerParams`). It prints "started" once
 * it works and runs until it is killed (SIGKILL in the crash test) or gets
 * SIGTERM (a graceful stop).
 */
import { pino } from "pino";
import { Reconciler } from "../../src/lifecycle/reconciler.js";
import { silentNotifier } from "../../src/lifecycle/notifier.js";
import { staticSettingsSource } from "../../src/lifecycle/settings.js";
import type { EngineOptions } from "../../src/lifecycle/engine.js";
import { PostgresProvider } from "../../src/providers/postgres-provider.js";
import { RunProvider } from "../../src/providers/run-provider.js";
import { createSealer } from "../../src/lifecycle/sealing.js";
import { operatorConfig } from "./harness.js";

export interface WorkerParams {
  store: { sqliteFile: string } | { redisUrl: string };
  prefix: string;
  /** The step workspace: run steps' working directory. */
  dir: string;
  config: object;
  options: Partial<EngineOptions>;
  postgres?: { adminUrl: string; prefix: string };
  secretKey: string;
}

const params = JSON.parse(process.env.WORKER_PARAMS ?? "") as WorkerParams;
// Logs go to stderr, which the test inherits; stdout only says "started".
const log = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" }, pino.destination(2));
// Only the adapter in use is loaded: a crash test starts dozens of these.
const store =
  "sqliteFile" in params.store
    ? (await import("../../src/store/sqlite/sqlite-store.js")).openSqliteStore({ file: params.store.sqliteFile, prefix: params.prefix })
    : (await import("../../src/store/redis/redis-store.js")).createRedisStore({ url: params.store.redisUrl, prefix: params.prefix });
const postgres = params.postgres && new PostgresProvider({ ...params.postgres, log });
const reconciler = new Reconciler(
  {
    store,
    settings: staticSettingsSource(operatorConfig(params.config)),
    providers: [new RunProvider({ cwd: params.dir, killGraceMs: 200 }), ...(postgres ? [postgres] : [])],
    sealer: createSealer(params.secretKey),
    notifier: silentNotifier,
    log,
  },
  params.options,
);
reconciler.start();
process.stdout.write("started\n");
process.once("SIGTERM", () => {
  void reconciler
    .stop()
    .then(() => Promise.all([store.close(), postgres?.close()]))
    .then(() => process.exit(0));
});
