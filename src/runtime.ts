import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Logger } from "pino";
import { ConfigError } from "./config/config-error.js";
import { EnvError, type AppEnv } from "./config/env.js";
import { loadOperatorConfig, type OperatorConfig } from "./config/operator-config.js";
import { PostgresProvider } from "./providers/postgres-provider.js";
import type { Provider, ResourceOwner } from "./providers/provider.js";
import { RunProvider } from "./providers/run-provider.js";
import { openStore } from "./store/open-store.js";
import type { StateStore } from "./store/state-store.js";

/**
 * What the server and the CLI both stand on: the config, the store, the
 * providers. The sealer is not here: the CLI needs one only for commands that
 * run the reconciler, so each entry point makes its own from the key it has.
 */
export interface Runtime {
  operator: OperatorConfig;
  store: StateStore;
  providers: Provider[];
  /** Providers whose resources the orphan audit can list. */
  owners: ResourceOwner[];
  /** The server's start-up checks that need the providers' backends: every template database closed to PUBLIC. */
  checkProviders(): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_CONFIG_PATH = "./ephemera.config.yml";

/** The settings a runtime is made from; the server's `AppEnv` and the CLI's `CliEnv` both have them. */
export type RuntimeEnv = Pick<AppEnv, "configPath" | "postgresUrl" | "postgresPrefix" | "redisUrl" | "keyPrefix" | "dataDir">;

/**
 * Loads the operator config (EPHEMERA_CONFIG, or ./ephemera.config.yml when
 * present, or the built-in template), opens the store and builds the
 * providers. A template that uses postgres without EPHEMERA_POSTGRES_URL is
 * a configuration error, found here rather than at the first PR.
 */
export async function openRuntime(env: RuntimeEnv, log: Logger): Promise<Runtime> {
  const configPath = resolve(env.configPath ?? DEFAULT_CONFIG_PATH);
  const operator = await loadOperatorConfig(configPath, { required: env.configPath !== undefined });
  const usesPostgres = Object.values(operator.templates).some((template) => template.steps.some((step) => step.uses === "postgres"));
  if (usesPostgres && env.postgresUrl === undefined) {
    throw new EnvError(["EPHEMERA_POSTGRES_URL is required: a template in the operator config uses postgres"]);
  }
  const providerLog = log.child({ name: "providers" });
  const run = new RunProvider({ cwd: existsSync(configPath) ? dirname(configPath) : process.cwd() });
  const postgres = env.postgresUrl ? new PostgresProvider({ adminUrl: env.postgresUrl, prefix: env.postgresPrefix, log: providerLog }) : undefined;
  const store = openStore(env, log);
  return {
    operator,
    store,
    providers: postgres ? [run, postgres] : [run],
    owners: postgres ? [postgres] : [],
    async checkProviders() {
      await postgres?.closeTemplates(postgresTemplates(operator), providerLog);
    },
    async close() {
      await postgres?.close();
      await store.close();
    },
  };
}

/** The template databases `uses: postgres` steps clone, across all templates. */
function postgresTemplates(operator: OperatorConfig): string[] {
  return Object.values(operator.templates).flatMap((template) =>
    template.steps.flatMap((step) => {
      const database = step.uses === "postgres" ? step.with.template : undefined;
      return typeof database === "string" ? [database] : [];
    }),
  );
}

/** A user's configuration mistake, as the one line the server and the CLI print; undefined for anything else. */
export function configProblem(error: unknown): string | undefined {
  if (error instanceof EnvError) return error.problems.join("; ");
  if (error instanceof ConfigError) return error.problems.map((problem) => `${error.source}: ${problem}`).join("; ");
  return undefined;
}
