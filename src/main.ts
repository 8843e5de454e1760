import { existsSync } from "node:fs";
import { readEnv } from "./config/env.js";
import { createLogger } from "./log.js";
import { configProblem } from "./runtime.js";
import { startEphemera } from "./start.js";

/** Process entry: read the configuration, start, and stop cleanly on a signal. */

function fail(message: string): never {
  process.stderr.write(`ephemera: ${message}\n`);
  process.exit(1);
}

// A .env file helps local runs; variables already set in the environment win over it.
if (existsSync(".env")) process.loadEnvFile(".env");

let env;
try {
  env = readEnv(process.env);
} catch (error) {
  fail(configProblem(error) ?? String(error));
}

const log = await createLogger(env);
let running;
try {
  running = await startEphemera({ env, log });
} catch (error) {
  const problem = configProblem(error);
  if (problem !== undefined) fail(problem);
  log.fatal({ err: error }, "Ephemera could not start");
  process.exit(1);
}

const started = running;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log.info({ signal }, "stopping");
    started.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, "error while stopping");
        process.exit(1);
      },
    );
  });
}
