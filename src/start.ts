import { Probot, ProbotOctokit, Server, type ApplicationFunction } from "probot";
import type { Logger } from "pino";
import { ephemeraApp } from "./app.js";
import { startBackgroundJobs } from "./background-jobs.js";
import type { AppEnv } from "./config/env.js";
import { loadPrivateKey } from "./config/private-key.js";
import type { BotIdentity } from "./github/github-api.js";
import { installationClients } from "./github/installation-clients.js";
import { paceWrites } from "./github/pacing/pace-writes.js";
import { createWritePacer } from "./github/pacing/write-pacer.js";
import { appBotIdentity, gitHubWiring } from "./github/wiring.js";
import { adminApiHandler } from "./http/admin-api.js";
import { dashboardHandler } from "./http/dashboard.js";
import { healthHandler } from "./http/health.js";
import { metricsHandler } from "./http/metrics.js";
import { serveProbesOnly } from "./http/probes-only.js";
import { applyServerLimits } from "./http/server-limits.js";
import { WebhookIntake } from "./http/webhook-intake.js";
import { Lifecycle } from "./lifecycle/api.js";
import type { EngineOptions } from "./lifecycle/engine.js";
import { Reconciler } from "./lifecycle/reconciler.js";
import { instrumentStore } from "./metrics/instrument-store.js";
import { withMetrics } from "./metrics/metrics-notifier.js";
import { githubMetrics } from "./metrics/octokit-metrics.js";
import { createMetrics } from "./metrics/registry.js";
import { createSealer } from "./lifecycle/sealing.js";
import { startReplicaMembership } from "./replica-membership.js";
import { openRuntime, type Runtime } from "./runtime.js";

/** Where GitHub posts webhooks (DESIGN §8), for Probot and the intake in front of it alike. */
const WEBHOOK_PATH = "/api/github/webhooks";

export interface RunningEphemera {
  readonly server: Server;
  readonly runtime: Runtime;
  /** None in the web role (EPHEMERA_ROLE=web): the workers reconcile. */
  readonly reconciler: Reconciler | undefined;
  /** Resolves when this replica may share the store no longer (see ReplicaMembership.revoked): stop it. */
  readonly revoked: Promise<Error>;
  /** Stops taking webhooks and work, lets the PR updates in flight finish, closes the store. */
  stop(): Promise<void>;
}

export interface StartOptions {
  env: AppEnv;
  log: Logger;
  /** Tests shorten the reconciler's timings. */
  engineOptions?: Partial<EngineOptions>;
  /**
   * The Octokit class every GitHub client is built on; default Probot's, with
   * its throttling and retry. In-process tests pass one with both turned off:
   * throttling spaces writes seconds apart, which only slows a test down.
   */
  Octokit?: typeof ProbotOctokit;
  /** The reconciler's clock (ms since the epoch), default the wall clock: tests move it instead of waiting for an expiry. */
  now?: () => number;
}

/**
 * The composition root: the runtime (config, store, providers), the Probot
 * server with the event handlers and our HTTP routes, the reconciler, the
 * GitHub notifier between them, and the background jobs. `main.ts` calls it
 * with the real environment; end-to-end tests with theirs.
 *
 * EPHEMERA_ROLE (DESIGN §2) splits it in two over one Redis: `web` takes the
 * webhooks and the HTTP routes and only records intents (no reconciler, no
 * jobs, no step sandbox); `worker` reconciles, notifies and runs the jobs,
 * serves only the probes and /metrics, and hears of every intent recorded
 * through the store's wakes. `all` is both in one process.
 */
export async function startEphemera({ env, log, engineOptions, Octokit = ProbotOctokit, now }: StartOptions): Promise<RunningEphemera> {
  const takesWebhooks = env.role !== "worker";
  const reconciles = env.role !== "web";
  const privateKey = loadPrivateKey(env.privateKey);
  const runtime = await openRuntime(env, log, { runsSteps: reconciles });
  await runtime.checkProviders().catch(async (error: unknown) => {
    await runtime.close();
    throw error;
  });
  const { operator } = runtime;
  const metrics = createMetrics({ stepIsolation: runtime.stepIsolation });
  // Every store call is timed and its failures counted, /metrics' own reads included.
  const store = instrumentStore(runtime.store, metrics);
  metrics.scrapeStore(store);
  const membership = startReplicaMembership({ store, takeover: env.storeTakeover, log: log.child({ name: "replicas" }) });
  const abandon = async (error: unknown): Promise<never> => {
    await membership.leave();
    await runtime.close();
    throw error;
  };
  // Before a webhook is taken, when the store answers: beside a replica of another release, start-up ends here.
  const first = await membership.firstAttempt.catch(abandon);
  if (!first.joined) log.warn({ err: first.error }, "could not join the store's replica registry (is the store reachable?): webhooks are refused, and the reconciler and the background jobs wait, until this replica has joined");
  const pacer = createWritePacer({ store, limit: env.githubWrites, log: log.child({ name: "github-pacing" }) });
  const server = new Server({
    host: env.host,
    port: env.port,
    webhookPath: WEBHOOK_PATH,
    log,
    Probot: Probot.defaults({
      appId: env.appId,
      privateKey,
      secret: env.webhookSecret,
      baseUrl: env.githubBaseUrl,
      // No `redisConfig`, ever: Probot's throttling stays in memory. Its Redis mode (Bottleneck) stops
      // every GitHub call after a Redis restart (DESIGN §2); replicas share the pace through the store.
      log,
      // Probot builds every client on this class, so its throttling and retry stay in place.
      Octokit: Octokit.plugin(githubMetrics(metrics), paceWrites(pacer)),
    }),
  });

  let probot: Probot | undefined;
  const clients = installationClients(() => {
    if (probot === undefined) throw new Error("the GitHub App is not loaded yet");
    return probot;
  });
  const bot: BotIdentity = {};
  const { settings, notifier, commands } = gitHubWiring({ operator, store, clients, bot, log });
  const reconciler = !reconciles ? undefined : new Reconciler(
    {
      store,
      settings,
      providers: runtime.providers,
      sealer: createSealer(env.secretKeys),
      notifier: withMetrics(notifier, { metrics, store }),
      commands,
      log: log.child({ name: "reconciler" }),
      onPass: metrics.countReconcilePass,
      ...(now && { now }),
    },
    engineOptions,
  );
  // A recorded intent pokes the reconciler here (see Reconciler.poke); the store's wakes poke it for other processes' intents.
  const lifecycle = new Lifecycle({ store, ...(reconciler && { onRecorded: (key) => reconciler.poke(key) }) });

  // pull_request deliveries skip Probot's receive path (see http/webhook-intake.ts).
  const intake = new WebhookIntake({ secret: env.webhookSecret, path: WEBHOOK_PATH, log: log.child({ name: "webhooks" }) });
  // Nothing is recorded before this replica is known to share the store safely: when the store did not
  // answer at start, a delivery is answered 500 until it has joined (GitHub's redelivery, and ours, bring it back).
  let joinedRegistry = false;
  void membership.joined.then(() => (joinedRegistry = true), () => undefined);
  const record: typeof lifecycle.record = async (key, intent, deliveryId) => {
    if (!joinedRegistry) throw new Error("not recorded: this replica has not yet joined the store's replica registry (the store did not answer at start)");
    return lifecycle.record(key, intent, deliveryId);
  };
  const app: ApplicationFunction = async (loaded, options) => {
    probot = loaded;
    if (!takesWebhooks) return;
    await ephemeraApp({
      recorder: { record, listKeys: (repoId) => store.listKeys(repoId) },
      observeWebhook: metrics.observeWebhook,
      intake,
    })(loaded, options);
  };
  server.addHandler(healthHandler({ store, github: metrics.githubReachability }));
  server.addHandler(metricsHandler(metrics.registry));
  if (takesWebhooks) {
    server.addHandler(dashboardHandler(store, env.adminToken));
    server.addHandler(adminApiHandler(store, env.adminToken));
  }
  await server.load(app);
  // Before any request is read: start() returns once listening, and connections are only accepted on a later turn of the event loop.
  const httpServer = await server.start();
  applyServerLimits(httpServer);
  if (takesWebhooks) intake.takeRequestsFirst(httpServer);
  else serveProbesOnly(httpServer);
  const loaded = probot as Probot | undefined;
  if (loaded === undefined) throw new Error("Probot did not load the app");
  // In the background: GitHub being slow or unreachable must not hold up start-up. Only the notifier and the commands need it.
  if (reconciler) void appBotIdentity(loaded, log).then((identity) => Object.assign(bot, identity));
  // Nothing reconciles before this replica is known to share the store safely.
  await membership.joined.catch(async (error: unknown) => {
    await server.stop();
    return abandon(error);
  });
  let jobs: { stop(): Promise<void> } | undefined;
  if (reconciler) {
    // Before the first pass, so an intent recorded elsewhere from then on is not left to the idle poll.
    await store.subscribeWakes?.((key) => reconciler.poke(key));
    reconciler.start();
    jobs = startBackgroundJobs({ probot: loaded, clients, lifecycle, store, notifier, owners: runtime.owners, operator, auditBounds: env.auditBounds, metrics, intervals: env.intervals, log });
  }

  return {
    server,
    runtime,
    reconciler,
    revoked: membership.revoked,
    async stop() {
      await server.stop();
      await reconciler?.stop();
      await notifier.drain();
      // A job waiting out GitHub's retries is abandoned after a moment: every job is idempotent and runs again at start-up.
      if (jobs) await Promise.race([jobs.stop(), new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
      await membership.leave();
      await runtime.close();
    },
  };
}
