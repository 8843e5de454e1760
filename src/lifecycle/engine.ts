import type { Logger } from "pino";
import type { Provider } from "./provider.js";
import type { Sealer } from "../providers/secrets.js";
import type { StateStore } from "./state-store.js";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./backoff.js";
import type { CommandDesk } from "./command-desk.js";
import type { Notifier } from "./notifier.js";
import type { SettingsSource } from "./settings.js";
import { DEFAULT_STATE_GRACE_MS, DEFAULT_TOMBSTONE_RETENTION_MS } from "./ttl.js";
import { createReadinessProbe, type ReadinessProbe } from "./readiness-probe.js";

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
}

export interface EngineOptions {
  /** A worker's claim on an environment; renewed while it works, so it only lapses when the worker dies. */
  leaseTtlMs: number;
  renewEveryMs: number;
  /** Failing steps: attempts and backoff. Teardown actions are retried with the same backoff, forever. */
  retry: RetryPolicy;
  /** How often a queued environment asks for a place again (it is also woken when one frees). */
  queuePollMs: number;
  /** When another worker holds the environment: look again this soon. */
  busyRetryMs: number;
  /** After an unexpected error (store or GitHub unreachable): look again this soon. */
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
  retry: DEFAULT_RETRY_POLICY,
  queuePollMs: 60_000,
  busyRetryMs: 2_000,
  errorRetryMs: 30_000,
  stateGraceMs: DEFAULT_STATE_GRACE_MS,
  tombstoneRetentionMs: DEFAULT_TOMBSTONE_RETENTION_MS,
  batchSize: 20,
  concurrency: 4,
  claimHideMs: 30_000,
  idlePollMs: 1_000,
  pokeDelayMs: 25,
  pokeSpacingMs: 250,
};

/** The deps and options as every collaborator of the reconciler sees them. */
export interface Engine {
  readonly deps: EngineDeps;
  readonly options: EngineOptions;
  readonly owner: string;
  now(): number;
  random(): number;
  readinessProbe: ReadinessProbe;
}

export function makeEngine(deps: EngineDeps, options: Partial<EngineOptions>, owner: string): Engine {
  return {
    deps,
    options: { ...DEFAULT_ENGINE_OPTIONS, ...options },
    owner,
    now: deps.now ?? Date.now,
    random: deps.random ?? Math.random,
    readinessProbe: deps.readinessProbe ?? createReadinessProbe(),
  };
}
