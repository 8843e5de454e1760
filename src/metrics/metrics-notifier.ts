import type { EnvironmentNotice, Notifier } from "../lifecycle/notifier.js";
import type { StateStore } from "../lifecycle/state-store.js";
import { timingsEndingAt } from "./lifecycle-timings.js";
import type { Metrics } from "./registry.js";

export interface NotifierMetricsDeps {
  metrics: Pick<Metrics, "timeToUrl" | "setupDuration" | "teardownDuration" | "stepFailures">;
  /** Reads the event log back when a run ends; give it the instrumented store, so a failed read is counted. */
  store: Pick<StateStore, "load">;
}

/** Events that record one failed attempt, and the phase it failed in. */
const FAILED_ATTEMPTS: ReadonlyMap<string, "setup" | "teardown"> = new Map([
  ["step_retry", "setup"],
  ["failed", "setup"],
  ["teardown_retry", "teardown"],
]);
/** Events that end a run with a duration worth reading the log for. */
const RUN_ENDS: ReadonlySet<string> = new Set(["ready", "failed", "deleted"]);

/**
 * A Notifier decorator: the reconciler's notices (every commit that records
 * events) become lifecycle metrics, then go on to `inner` unchanged. The
 * metrics never hold up or break the inner notifier: both run at once, and
 * a failure to observe is dropped here (the instrumented store counts it).
 */
export function withMetrics(inner: Notifier, deps: NotifierMetricsDeps): Notifier {
  return {
    async environmentChanged(notice) {
      countFailedAttempts(deps.metrics, notice);
      const observed = observeRunEnds(deps, notice).catch(() => undefined);
      await Promise.all([observed, inner.environmentChanged(notice)]);
    },
  };
}

/** The failing step is the one the commit recorded as the environment's error. */
function countFailedAttempts(metrics: NotifierMetricsDeps["metrics"], notice: EnvironmentNotice): void {
  const step = notice.fields.artifacts?.error?.step ?? "unknown";
  for (const { event } of notice.events) {
    const phase = FAILED_ATTEMPTS.get(event);
    if (phase !== undefined) metrics.stepFailures.inc({ phase, step });
  }
}

/** Durations need the start of the run, which only the event log still has: one read, only when a run ends. */
async function observeRunEnds({ metrics, store }: NotifierMetricsDeps, notice: EnvironmentNotice): Promise<void> {
  const ends = notice.events.filter((entry) => RUN_ENDS.has(entry.event));
  if (ends.length === 0) return;
  const log = (await store.load(notice.key))?.events ?? [];
  for (const end of ends) {
    const { timeToUrl, setup, teardown } = timingsEndingAt(log, end);
    if (timeToUrl !== undefined) metrics.timeToUrl.observe(timeToUrl);
    if (setup !== undefined) metrics.setupDuration.observe({ outcome: end.event }, setup);
    if (teardown !== undefined) metrics.teardownDuration.observe(teardown);
  }
}
