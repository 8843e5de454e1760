import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Logger } from "pino";
import type { Probot } from "probot";
import { EnvError, readCliEnv, type CliEnv } from "../config/env.js";
import { loadPrivateKey } from "../config/private-key.js";
import { installationClients, type InstallationClients } from "../github/installation-clients.js";
import { paceWrites } from "../github/pacing/pace-writes.js";
import { createWritePacer } from "../github/pacing/write-pacer.js";
import { Lifecycle } from "../lifecycle/api.js";
import { createSealer, type Sealer } from "../lifecycle/sealing.js";
import { redactText } from "../read-model/redact.js";
import { startReplicaMembership, type ReplicaMembership } from "../replica-membership.js";
import { openRuntime, type Runtime, type RuntimeEnv, type RuntimeOptions } from "../runtime.js";
import type { StateStore } from "../lifecycle/state-store.js";
import { createCliLogger } from "./cli-log.js";
import { CliFailure } from "./command.js";
import { Output } from "./output.js";
import type { TtySink } from "./progress.js";

/** What the CLI runs against: the process's, or a test's. */
export interface CliIO {
  env: Record<string, string | undefined>;
  stdout: TtySink;
  stderr: TtySink;
  /** Aborted on Ctrl-C: steps running in this process stop, and another worker resumes them. */
  signal?: AbortSignal;
  /** Opens the runtime; tests wrap the real one to swap a provider. */
  openRuntime?: (env: RuntimeEnv, log: Logger, options: RuntimeOptions) => Promise<Runtime>;
  /** The reconciler's clock (what has expired); tests move it instead of waiting. Default: the wall clock. */
  now?: () => number;
}

/** What a command works with. The runtime and GitHub are opened on first use, and closed when the command ends. */
export class CliContext {
  private opened: Promise<Runtime> | undefined;
  private app: Probot | undefined;
  private membership: ReplicaMembership | undefined;

  private constructor(
    readonly env: CliEnv,
    readonly out: Output,
    readonly log: Logger,
    readonly signal: AbortSignal,
    private readonly open: NonNullable<CliIO["openRuntime"]>,
    private readonly runsSteps: boolean,
    private readonly joinsRegistry: boolean,
    readonly now: () => number,
  ) {}

  /** Reads the configuration (an `EnvError` names a bad variable) and makes the logger. */
  static async create(io: CliIO, out: Output, { runsSteps, joinsRegistry }: RuntimeOptions & { joinsRegistry: boolean }): Promise<CliContext> {
    const env = readCliEnv(io.env);
    const log = await createCliLogger(env, out);
    return new CliContext(env, out, log, io.signal ?? new AbortController().signal, io.openRuntime ?? openRuntime, runsSteps ?? false, joinsRegistry, io.now ?? Date.now);
  }

  /**
   * The operator config, the store and the providers, as the server opens
   * them. An embedded store that is not there is an error, not a new empty
   * store: a CLI run in the wrong directory would otherwise report "no
   * environments". `import` may create one.
   */
  runtime(options: { create?: boolean } = {}): Promise<Runtime> {
    if (this.opened === undefined) {
      const { redisUrl, redisNodes, dataDir } = this.env;
      if (redisUrl === undefined && redisNodes === undefined && !options.create && !existsSync(dataDir)) {
        throw new CliFailure(`no embedded store at ${resolve(dataDir)}: run the CLI where Ephemera runs, or set EPHEMERA_DATA_DIR (or REDIS_URL) as the server has them`);
      }
      this.opened = this.open(this.env, this.log, { runsSteps: this.runsSteps })
        .then((runtime) => this.reachable(runtime))
        .then((runtime) => (this.joinsRegistry ? this.joinReplicas(runtime) : runtime));
    }
    return this.opened;
  }

  /**
   * A command that runs the reconciler, or writes environments in this
   * release's layout, is a replica while it runs: it joins
   * the store's registry as the server does, and is refused beside replicas
   * of another release (see lifecycle/replicas.ts).
   */
  private async joinReplicas(runtime: Runtime): Promise<Runtime> {
    const membership = startReplicaMembership({ store: runtime.store, takeover: this.env.storeTakeover, log: this.log.child({ name: "replicas" }) });
    this.membership = membership;
    try {
      const first = await membership.firstAttempt;
      if (!first.joined) throw first.error;
      return runtime;
    } catch (error) {
      await membership.leave();
      await runtime.close().catch(() => undefined);
      throw error;
    }
  }

  /** Fails with one line naming the store when it does not answer, rather than at the command's first read. */
  private async reachable(runtime: Runtime): Promise<Runtime> {
    try {
      await runtime.store.ping();
      return runtime;
    } catch (error) {
      await runtime.close().catch(() => undefined);
      // The Redis client's own error only says it gave up; why (refused, a wrong password) is in its warning above.
      const problem = this.storeProblem(error);
      throw new CliFailure(`cannot reach ${problem}`);
    }
  }

  /** Which store did not answer, and what to check. */
  private storeProblem(error: unknown): string {
    const { redisUrl, redisNodes, dataDir } = this.env;
    if (redisUrl !== undefined) return `Redis at ${redactText(redisUrl)} (REDIS_URL): is it up, and is the URL right?`;
    if (redisNodes === undefined) return `the embedded store in ${resolve(dataDir)}: ${error instanceof Error ? error.message : String(error)}`;
    const [variable, nodes] = "cluster" in redisNodes ? ["EPHEMERA_REDIS_CLUSTER_NODES", redisNodes.cluster] : ["EPHEMERA_REDIS_SENTINELS", redisNodes.sentinels];
    return `Redis at ${nodes.map(({ host, port }) => `${host}:${port}`).join(",")} (${variable}): is it up, and are the nodes right?`;
  }

  async lifecycle(): Promise<Lifecycle> {
    return new Lifecycle({ store: (await this.runtime()).store });
  }

  /** The GitHub App when APP_ID and a private key are set, else undefined. Probot loads only then: most commands never need it. */
  async github(): Promise<Probot | undefined> {
    const credentials = this.env.github;
    if (credentials === undefined) return undefined;
    const { Probot, ProbotOctokit } = await import("probot");
    // The CLI's writes (a teardown's comment update) share the installation's pace with the servers.
    const store = { takeToken: async (...args: Parameters<StateStore["takeToken"]>) => (await this.runtime()).store.takeToken(...args) };
    const pacer = createWritePacer({ store, limit: this.env.githubWrites, log: this.log.child({ name: "github-pacing" }) });
    this.app ??= new Probot({
      appId: credentials.appId,
      privateKey: loadPrivateKey(credentials.privateKey),
      baseUrl: this.env.githubBaseUrl,
      log: this.log.child({ name: "github" }),
      Octokit: ProbotOctokit.plugin(paceWrites(pacer)),
    });
    return this.app;
  }

  /** Installation clients of the GitHub App (see `installationClients`); `command` names what needs them when the credentials are missing. */
  async githubClients(command: string): Promise<InstallationClients> {
    const app = await this.requireGitHub(command);
    return installationClients(() => app);
  }

  async requireGitHub(command: string): Promise<Probot> {
    const app = await this.github();
    if (app === undefined) throw new EnvError([`APP_ID and PRIVATE_KEY (or PRIVATE_KEY_PATH) are required: \`${command}\` talks to GitHub as the App`]);
    return app;
  }

  /** The server's sealing key: steps get their secret outputs unsealed, so the reconciler cannot run without it. */
  sealer(command: string): Sealer {
    if (this.env.secretKeys === undefined) {
      throw new EnvError([
        `EPHEMERA_SECRET_KEY (or WEBHOOK_SECRET, from which the server derives it when unset) is required: \`${command}\` runs the reconciler, which unseals the secret outputs of setup steps`,
      ]);
    }
    return createSealer(this.env.secretKeys);
  }

  async close(): Promise<void> {
    const opened = this.opened;
    this.opened = undefined;
    const runtime = await opened?.catch(() => undefined);
    await this.membership?.leave();
    await runtime?.close();
  }
}
