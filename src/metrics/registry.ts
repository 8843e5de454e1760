import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { OwnedResource } from "../lifecycle/provider.js";
import { GitHubReachability } from "./github-reachability.js";
import type { IsolationMode } from "../providers/sandbox/step-sandbox.js";
import { LowestRateLimits } from "./rate-limits.js";
import { StoreGauges, type ScrapedStore } from "./store-gauges.js";

/**
 * Every metric /metrics serves, with its HELP, in one place (DESIGN §8):
 * each is named `ephemera_…`, next to Node's default process metrics under
 * their standard names. No label carries a repository, a PR or an
 * installation: a series per customer would grow without bound, and the
 * endpoint is served without authentication.
 *
 * Store-derived gauges are fleet-wide: every replica reads the same store
 * and reports the same values, so aggregate them across instances with
 * `max`, not `sum`. The rest count what this process did, and sum.
 */

/** From seconds to two hours: setup, teardown and time to URL run from a few seconds to tens of minutes. */
const LIFECYCLE_BUCKETS = [5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];
/** Up to GitHub's 10-second answer deadline. */
const WEBHOOK_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const STORE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export interface Metrics {
  readonly registry: Registry;
  /** From now on, read the store-derived gauges from `store` at scrape time, at most every 15 s (give it the instrumented store). */
  scrapeStore(store: ScrapedStore): void;
  /** For the app wiring: one webhook handled, by `event.action` (`pull_request.opened`). */
  observeWebhook(event: string, seconds: number): void;
  /** For whoever runs the orphan audit: the orphans it found (`AuditReport.found`). */
  countOrphans(found: ReadonlyArray<Pick<OwnedResource, "provider" | "kind">>): void;
  /** For the reconciler's wiring (`EngineDeps.onPass`): one reconcile pass over one environment. */
  countReconcilePass(): void;

  // Fed by the decorators in this folder.
  readonly timeToUrl: Histogram;
  readonly setupDuration: Histogram<"outcome">;
  readonly teardownDuration: Histogram;
  readonly stepFailures: Counter<"phase" | "step">;
  readonly githubRequests: Counter<"method" | "status">;
  readonly rateLimits: LowestRateLimits;
  /** Whether GitHub answers this replica's requests, for /readyz. */
  readonly githubReachability: GitHubReachability;
  readonly storeErrors: Counter<"operation">;
  readonly storeDuration: Histogram<"operation">;
}

export function createMetrics(options: { now?: () => number; stepIsolation?: IsolationMode } = {}): Metrics {
  const now = options.now ?? Date.now;
  const registry = new Registry();
  const registers = [registry];

  /** Fixed at start: alert on mode="off" being 1. */
  const stepIsolation = new Gauge({
    name: "ephemera_step_isolation",
    help: "How this process confines run steps: 1 for the mode in use (uid: a uid per environment as root, behind the step firewall; bwrap: bubblewrap; off: steps run as the app), 0 for the others.",
    labelNames: ["mode"] as const,
    registers,
  });
  if (options.stepIsolation !== undefined) {
    for (const mode of ["uid", "bwrap", "off"] as const) stepIsolation.set({ mode }, mode === options.stepIsolation ? 1 : 0);
  }
  collectDefaultMetrics({ register: registry });
  const storeGauges = new StoreGauges(now);
  const rateLimits = new LowestRateLimits(now);

  /** Environments in the store by `status`, read at scrape time (at most every 15 s). */
  new Gauge({
    name: "ephemera_environments",
    help: "Environments in the store by status, deleted tombstones included, counted from the store at scrape time, at most every 15 s (fleet-wide: aggregate with max).",
    labelNames: ["status"] as const,
    registers,
    collect() {
      return storeGauges.showEnvironments(this);
    },
  });

  /** How far the reconciler is behind: now minus the earliest due time. */
  new Gauge({
    name: "ephemera_reconciler_lag_seconds",
    help: "Now minus the earliest due time in the store's due index (read at most every 15 s), 0 when nothing is overdue; an environment being worked is not overdue. NaN when the store could not be read (fleet-wide).",
    registers,
    collect() {
      return storeGauges.showLag(this);
    },
  });

  /** Environments waiting for a place within the operator's limits. */
  new Gauge({
    name: "ephemera_admission_queue_length",
    help: "Environments waiting (queued) for a place within maxActive and maxActivePerRepo, read from the store at scrape time, at most every 15 s. NaN when the store could not be read (fleet-wide).",
    registers,
    collect() {
      return storeGauges.showQueue(this);
    },
  });

  /**
   * Continuous rather than added when an environment is deleted: a week-long
   * environment shows its cost as it accrues, not as one step on the day it
   * goes, and one whose teardown never finishes is still counted.
   */
  new Counter({
    name: "ephemera_environment_hours_total",
    help: "Environment-hours consumed: environments holding resources (provisioning, ready, failed, tearing_down) integrated over time, sampled from the store at each scrape (fleet-wide: use max of increase()).",
    registers,
    collect() {
      return storeGauges.addEnvironmentHours(this);
    },
  });

  /** User-facing latency of a new environment. */
  const timeToUrl = new Histogram({
    name: "ephemera_time_to_url_seconds",
    help: "Seconds from the reconciler's first action on a new environment (queued or provisioning, just after the webhook that asked for it) to its first ready: queueing, setup and readiness; waits on policy (blocked, held) not included.",
    buckets: LIFECYCLE_BUCKETS,
    registers,
  });

  /** How long the setup steps take, by how the run ended. */
  const setupDuration = new Histogram({
    name: "ephemera_setup_duration_seconds",
    help: "Seconds a setup run took, retries included: from admission (provisioning) or, after a push or redeploy, its first step, to ready or failed (label outcome).",
    labelNames: ["outcome"] as const,
    buckets: LIFECYCLE_BUCKETS,
    registers,
  });

  /** How long resources outlive the decision to remove them. */
  const teardownDuration = new Histogram({
    name: "ephemera_teardown_duration_seconds",
    help: "Seconds from teardown_started to deleted, retries included.",
    buckets: LIFECYCLE_BUCKETS,
    registers,
  });

  /** Failed attempts; step names come from the operator config only, so they are few. */
  const stepFailures = new Counter({
    name: "ephemera_step_failures_total",
    help: "Failed attempts of setup steps (step=readiness for the readiness check) and teardown actions, by phase and operator-defined step name; each failed retry counts.",
    labelNames: ["phase", "step"] as const,
    registers,
  });

  /** One pass: an environment claimed, its lease taken, loaded, folded and converged. A push should cost one. */
  const reconcilePasses = new Counter({
    name: "ephemera_reconcile_passes_total",
    help: "Reconcile passes: one environment taken under its lease, loaded, folded, converged and committed until it rests (one per push, or per other change).",
    registers,
  });

  /** Leaked resources the audit found. */
  const orphansFound = new Counter({
    name: "ephemera_orphans_found_total",
    help: "Resources the orphan audit found that no live environment claims, by provider and resource kind.",
    labelNames: ["provider", "kind"] as const,
    registers,
  });

  /** Handler time per webhook; GitHub gives up after 10 s. */
  const webhookDuration = new Histogram({
    name: "ephemera_webhook_duration_seconds",
    help: "Seconds this app took to handle a webhook, by event and action (pull_request.opened).",
    labelNames: ["event"] as const,
    buckets: WEBHOOK_BUCKETS,
    registers,
  });

  /** Calls to GitHub as the app made them. */
  const githubRequests = new Counter({
    name: "ephemera_github_requests_total",
    help: "GitHub API requests by method and status class (2xx, 3xx, 4xx, 5xx, or error when no response came), counted once each after Probot's retries.",
    labelNames: ["method", "status"] as const,
    registers,
  });

  /** The GitHub budget closest to running out. */
  new Gauge({
    name: "ephemera_github_rate_limit_remaining",
    help: "Lowest x-ratelimit-remaining seen in the current window across installations, per x-ratelimit-resource; the limit again once that window has reset.",
    labelNames: ["resource"] as const,
    registers,
    collect() {
      rateLimits.show(this);
    },
  });

  /** Store calls that rejected, by port method. */
  const storeErrors = new Counter({
    name: "ephemera_store_errors_total",
    help: "Store calls that failed (store unreachable, corrupt record), by StateStore method.",
    labelNames: ["operation"] as const,
    registers,
  });

  /** Store latency, by port method. */
  const storeDuration = new Histogram({
    name: "ephemera_store_operation_duration_seconds",
    help: "Seconds a store call took, failed ones included, by StateStore method.",
    labelNames: ["operation"] as const,
    buckets: STORE_BUCKETS,
    registers,
  });

  return {
    registry,
    scrapeStore: (store) => storeGauges.readFrom(store),
    observeWebhook: (event, seconds) => webhookDuration.observe({ event }, seconds),
    countOrphans: (found) => {
      for (const { provider, kind } of found) orphansFound.inc({ provider, kind });
    },
    countReconcilePass: () => reconcilePasses.inc(),
    timeToUrl,
    setupDuration,
    teardownDuration,
    stepFailures,
    githubRequests,
    rateLimits,
    githubReachability: new GitHubReachability(now),
    storeErrors,
    storeDuration,
  };
}
