import type { Logger } from "pino";
import type { Provider } from "./provider.js";
import type { Sealer } from "./sealing.js";
import type { StateStore } from "./state-store.js";
import { DEFAULT_BACKOFF, DEFAULT_ERROR_RETRY_MS, type Backoff, type RetryPolicy } from "./retry-policy.js";
import type { CommandDesk } from "./command-desk.js";
import type { Notifier } from "./notifier.js";
import type { SettingsSource } from "./settings.js";
import { DEFAULT_STATE_GRACE_MS, DEFAULT_TOMBSTONE_RETENTION_MS } from "./ttl.js";
import { createReadinessProbe, type ReadinessProbe } from "./readiness-probe.js";
import type { EnvKey } from "./environment.js";
import type { Leases } from "./leases.js";

/** What the reconciler works with; everything with IO comes in here, so tests pass their own. */
export interface EngineDeps {
  store: StateStore;
  settings: SettingsSource;
  providers: readonly Provider[];
  /** Seals secret step outputs before they reach the store. */
  sealer: Sealer;
  notifier: Notifier;
  /** Carries out recorded slash-commands; without it (no GitHub) they do nothing. */
  commands?: CommandDesk;
  log: Logger;
  /** For HTTP readiness checks; over node:http(s), refusing link-local and metadata addresses, by default. */
  readinessProbe?: ReadinessProbe;
  now?: () => number;
  random?: () => number;
  /** Called once per reconcile pass (one environment, under its lease): the server counts them in a metric. */
  onPass?: () => void;
}

export interface EngineOptions {
  /** A worker's claim on an environment; renewed while it works, so it only lapses when the worker dies. */
  leaseTtlMs: number;
  renewEveryMs: number;
  /** Failing steps: attempts and backoff. Teardown actions are retried with the same backoff, forever (see retry-policy.ts). */
  retry: Backoff;
  /** How often a queued environment asks for a place again (it is also woken when one frees). */
  queuePollMs: number;
  /** When another worker holds the environment: look again this soon. */
  busyRetryMs: number;
  /** After an unexpected error (store or GitHub unreachable): look again this soon (the same policy's third case). */
  errorRetryMs: number;
  /** Live keys outlive `expires_at` by this much. */
  stateGraceMs: number;
  /** How long a `deleted` tombstone stays. */
  tombstoneRetentionMs: number;
  /** Environments claimed per `claimDue`. */
  batchSize: number;
  /** Environments one worker reconciles at once. */
  concurrency: number;
  /**
   * A claimed environment is hidden from other workers this long; a dead
   * worker's come back after it. No longer than a lease: a worker killed
   * between its claim and its first commit (which sets the due time itself),
   * or one that claimed an environment it was already working on, must not
   * keep it hidden after its lease would have run out.
   */
  claimHideMs: number;
  /** How long an idle worker waits before asking for due environments again. */
  idlePollMs: number;
  /** A poke (an intent recorded in this process) wakes an idle worker this much later… */
  pokeDelayMs: number;
  /** …and at most once per this interval, however many intents arrive. */
  pokeSpacingMs: number;
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  leaseTtlMs: 30_000,
  renewEveryMs: 10_000,
  retry: DEFAULT_BACKOFF,
  queuePollMs: 60_000,
  busyRetryMs: 2_000,
  errorRetryMs: DEFAULT_ERROR_RETRY_MS,
  stateGraceMs: DEFAULT_STATE_GRACE_MS,
  tombstoneRetentionMs: DEFAULT_TOMBSTONE_RETENTION_MS,
  batchSize: 20,
  concurrency: 4,
  claimHideMs: 30_000,
  idlePollMs: 1_000,
  pokeDelayMs: 25,
  pokeSpacingMs: 250,
};

/**
 * What a worker reconciles with, flat: the deps with their defaults filled
 * in, the options, and the name its leases are held under.
 */
export interface WorkerContext {
  readonly store: StateStore;
  readonly settings: SettingsSource;
  readonly providers: readonly Provider[];
  readonly sealer: Sealer;
  readonly notifier: Notifier;
  readonly commands: CommandDesk | undefined;
  readonly readinessProbe: ReadinessProbe;
  readonly log: Logger;
  readonly now: () => number;
  readonly random: () => number;
  readonly options: EngineOptions;
  /** The one retry policy, made of `options.retry` and `options.errorRetryMs`. */
  readonly retry: RetryPolicy;
  /** Whom this worker's leases name. */
  readonly owner: string;
  /** Counts reconcile passes (one environment, under its lease): for a metric or a test. */
  readonly onPass: (() => void) | undefined;
}

export function workerContext(deps: EngineDeps, overrides: Partial<EngineOptions>, owner: string): WorkerContext {
  const options = { ...DEFAULT_ENGINE_OPTIONS, ...overrides };
  return {
    store: deps.store,
    settings: deps.settings,
    providers: deps.providers,
    sealer: deps.sealer,
    notifier: deps.notifier,
    commands: deps.commands,
    readinessProbe: deps.readinessProbe ?? createReadinessProbe(),
    log: deps.log,
    now: deps.now ?? Date.now,
    random: deps.random ?? Math.random,
    options,
    retry: { ...options.retry, errorRetryMs: options.errorRetryMs },
    owner,
    onPass: deps.onPass,
  };
}

/** What reconciling one environment works with: the worker's context, flat, and the environment's own. */
export interface ReconcileContext extends WorkerContext {
  readonly key: EnvKey;
  /** Its `lease` (and `teardown_lock` while tearing down), renewed while the worker works. */
  readonly leases: Leases;
  /** Aborted when the worker stops. */
  readonly stopSignal: AbortSignal;
}
