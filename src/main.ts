import { readEnv } from "./config/env.js";
import { loadDotEnv } from "./config/private-file.js";
import { createLogger } from "./log.js";
import { configProblem } from "./runtime.js";
import { startEphemera } from "./start.js";

/** Process entry: read the configuration, start, and stop cleanly on a signal. */

function fail(message: string): never {
  process.stderr.write(`ephemera: ${message}\n`);
  process.exit(1);
}

// Everything the app creates (the store, its journal, temp files) is its own alone: a step runs as another user.
process.umask(0o077);

let env;
try {
  // A .env file helps local runs; variables already set in the environment win over it.
  loadDotEnv();
  env = readEnv(process.env);
} catch (error) {
  fail(configProblem(error) ?? String(error));
}

const log = await createLogger(env);

/**
 * Every piece of work is resumable (checkpoints, leases that lapse), so a
 * stop that takes too long (GitHub unreachable, a step ignoring SIGTERM)
 * is cut short rather than left hanging.
 */
const STOP_DEADLINE_MS = 15_000;
let running: Awaited<ReturnType<typeof startEphemera>> | undefined;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log.info({ signal }, "stopping");
    setTimeout(() => {
      log.warn("stopping took too long; exiting (unfinished work resumes on the next start)");
      process.exit(0);
    }, STOP_DEADLINE_MS).unref();
    (running?.stop() ?? Promise.resolve()).then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, "error while stopping");
        process.exit(1);
      },
    );
  });
}

try {
  running = await startEphemera({ env, log });
  const started = running;
  void started.revoked.then(async (error) => {
    log.fatal({ err: error }, "stopping: this replica may no longer share the store");
    await started.stop().catch((stopError: unknown) => log.error({ err: stopError }, "error while stopping"));
    process.exit(1);
  });
} catch (error) {
  const problem = configProblem(error);
  if (problem !== undefined) fail(problem);
  log.fatal({ err: error }, "Ephemera could not start");
  process.exit(1);
}
