import { existsSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import type { Logger } from "pino";
import { ConfigError } from "./config/config-error.js";
import { EnvError, type AppEnv } from "./config/env.js";
import { loadOperatorConfig, type OperatorConfig } from "./config/operator-config.js";
import { PostgresProvider } from "./providers/postgres-provider.js";
import type { Provider, ResourceOwner } from "./lifecycle/provider.js";
import { RunProvider } from "./providers/run-provider.js";
import { openStepSandbox } from "./providers/sandbox/open-step-sandbox.js";
import type { BlockedEndpoint } from "./providers/sandbox/step-firewall.js";
import type { IsolationMode } from "./providers/sandbox/step-sandbox.js";
import { openStore } from "./store/open-store.js";
import type { StateStore } from "./lifecycle/state-store.js";
import { StoreSharingError } from "./lifecycle/replicas.js";

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
  /** How `run` steps are confined in this process, for `ephemera_step_isolation`; undefined where steps do not run. */
  stepIsolation: IsolationMode | undefined;
  close(): Promise<void>;
}

const DEFAULT_CONFIG_PATH = "./ephemera.config.yml";

/** The settings a runtime is made from; the server's `AppEnv` and the CLI's `CliEnv` both have them. */
export type RuntimeEnv = Pick<AppEnv, "configPath" | "postgresUrl" | "postgresStepUrl" | "postgresPrefix" | "redisUrl" | "redisNodes" | "keyPrefix" | "dataDir" | "port" | "steps">;

export interface RuntimeOptions {
  /**
   * Whether `run` steps may run in this process (default true): the step
   * sandbox is opened (the firewall installed, the isolation mode chosen,
   * start-up refused where steps cannot be isolated) only then. CLI commands
   * that only read the store do without: they neither need a sandbox nor
   * should fail where the server's isolation is not available.
   */
  readonly runsSteps?: boolean;
}

/**
 * Loads the operator config (EPHEMERA_CONFIG, or ./ephemera.config.yml when
 * present, or the built-in template), opens the store and builds the
 * providers. A template that uses postgres without EPHEMERA_POSTGRES_URL is
 * a configuration error, found here rather than at the first PR; so is a
 * `run` step that cannot be isolated (see providers/sandbox/).
 */
export async function openRuntime(env: RuntimeEnv, log: Logger, { runsSteps = true }: RuntimeOptions = {}): Promise<Runtime> {
  const configPath = resolve(env.configPath ?? DEFAULT_CONFIG_PATH);
  const operator = await loadOperatorConfig(configPath, { required: env.configPath !== undefined });
  const usesPostgres = Object.values(operator.templates).some((template) => template.steps.some((step) => step.uses === "postgres"));
  if (usesPostgres && env.postgresUrl === undefined) {
    throw new EnvError(["EPHEMERA_POSTGRES_URL is required: a template in the operator config uses postgres"]);
  }
  const providerLog = log.child({ name: "providers" });
  const configDir = existsSync(configPath) ? dirname(configPath) : process.cwd();
  const { mode, sandbox } = !runsSteps ? { mode: undefined, sandbox: undefined } : await openStepSandbox(stepIsolationSettings(env), {
    configDir,
    hasRunSteps: Object.values(operator.templates).some((template) => [...template.steps, ...template.teardown].some((step) => step.run !== undefined)),
    hidden: [...env.steps.secretFiles, env.dataDir].map((path) => resolve(path)),
    blocked: blockedEndpoints(env),
    appPort: env.port,
    log: providerLog,
  });
  // Without runsSteps there is no run provider at all: a step reaching it fails as an unknown provider, never unconfined.
  const run = runsSteps ? [new RunProvider({ cwd: configDir, sandbox })] : [];
  const postgres = env.postgresUrl ? new PostgresProvider({ adminUrl: env.postgresUrl, stepUrl: env.postgresStepUrl, prefix: env.postgresPrefix, log: providerLog }) : undefined;
  const store = openStore(env, log);
  return {
    operator,
    store,
    providers: [...run, ...(postgres ? [postgres] : [])],
    owners: [...(postgres ? [postgres] : []), ...(sandbox ? [sandbox.owner] : [])],
    stepIsolation: mode,
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

function stepIsolationSettings(env: RuntimeEnv) {
  const workdirs = resolve(env.steps.workdirs);
  const inside = relative(resolve(env.dataDir), workdirs);
  if (inside === "" || !inside.startsWith("..")) {
    throw new EnvError(["EPHEMERA_WORKDIRS must not be inside EPHEMERA_DATA_DIR: the data directory is the app's alone (0700) and steps could not enter it"]);
  }
  const { isolation, uidRange, maxProcesses, memoryBytes } = env.steps;
  return { isolation, uidRange, workdirs, limits: { maxProcesses, memoryBytes } };
}

/**
 * The store and the postgres admin endpoint, which steps must not reach. Of
 * a Redis Cluster or Sentinel, the nodes named (README: name them all).
 */
function blockedEndpoints(env: RuntimeEnv): BlockedEndpoint[] {
  const nodes = env.redisNodes;
  const endpoints: BlockedEndpoint[] = nodes === undefined ? [] : "cluster" in nodes ? [...nodes.cluster] : [...nodes.sentinels];
  for (const [url, defaultPort] of [[env.redisUrl, 6379], [env.postgresUrl, 5432]] as const) {
    if (url === undefined) continue;
    const { hostname, port } = new URL(url);
    if (hostname !== "") endpoints.push({ host: hostname, port: port === "" ? defaultPort : Number(port) });
  }
  return endpoints;
}

/**
 * What the operator must fix (a configuration mistake, or a store that
 * replicas of another release use), as the one line the server and the CLI
 * print; undefined for anything else.
 */
export function configProblem(error: unknown): string | undefined {
  if (error instanceof EnvError) return error.problems.join("; ");
  if (error instanceof StoreSharingError) return error.message;
  if (error instanceof ConfigError) return error.problems.map((problem) => `${error.source}: ${problem}`).join("; ");
  return undefined;
}
