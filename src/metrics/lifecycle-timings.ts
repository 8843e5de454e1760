import type { EventLogEntry } from "../lifecycle/environment.js";
import type { LifecycleEvent } from "../lifecycle/notifier.js";
import { EVENT_LOG_LIMIT } from "../lifecycle/state-store.js";

/**
 * How long a setup or a teardown took, read back from the environment's
 * event log rather than remembered in memory: the run may have started on
 * another replica, or before a restart. Pure.
 *
 * A run is the unbroken sequence of its phase's events that ends in the
 * event observed; any other event (a previous ready, failed, blocked, held)
 * is where it began. When the run reaches back past the oldest entry the
 * capped log keeps, its start is unknown and nothing is reported.
 */

/** Events of one setup run. Those that do not start anything (renewed, refresh…) pass through. */
const SETUP_RUN: ReadonlySet<string> = new Set<LifecycleEvent>([
  "queued",
  "provisioning",
  "step_started",
  "step_completed",
  "step_retry",
  "renewed",
  "extended",
  "refresh",
  "expiry_warning",
]);
const TEARDOWN_RUN: ReadonlySet<string> = new Set<LifecycleEvent>(["teardown_started", "teardown_step", "teardown_retry", "teardown_without_secrets", "refresh"]);

/** Where the clock starts for each timing. */
const CREATION_STARTS: ReadonlySet<string> = new Set<LifecycleEvent>(["queued", "provisioning"]);
const SETUP_STARTS: ReadonlySet<string> = new Set<LifecycleEvent>(["provisioning", "step_started"]);
const TEARDOWN_STARTS: ReadonlySet<string> = new Set<LifecycleEvent>(["teardown_started"]);

export interface LifecycleTimings {
  /** A new environment's first `ready`: seconds since it was first queued or provisioned. */
  timeToUrl?: number;
  /** `ready` or `failed`: seconds since the setup run began. */
  setup?: number;
  /** `deleted` after a teardown: seconds since `teardown_started`. */
  teardown?: number;
}

/** The timings that `end`, an entry of `log`, completes. */
export function timingsEndingAt(log: readonly EventLogEntry[], end: EventLogEntry): LifecycleTimings {
  const index = log.findLastIndex((entry) => entry.at === end.at && entry.event === end.event && entry.detail === end.detail);
  if (index < 0) return {};
  if (end.event === "ready" || end.event === "failed") {
    const run = runBefore(log, index, SETUP_RUN);
    const setup = secondsFrom(run, SETUP_STARTS, end);
    // Only a run that admitted the environment created it: after a push or a redeploy the URL was already there.
    const timeToUrl = end.event === "ready" ? secondsFrom(run, CREATION_STARTS, end) : undefined;
    return { ...(setup !== undefined && { setup }), ...(timeToUrl !== undefined && { timeToUrl }) };
  }
  if (end.event === "deleted") {
    const teardown = secondsFrom(runBefore(log, index, TEARDOWN_RUN), TEARDOWN_STARTS, end);
    return teardown === undefined ? {} : { teardown };
  }
  return {};
}

/** The run of `phase` events just before `endIndex`, oldest first; undefined when it may begin before the oldest entry kept. */
function runBefore(log: readonly EventLogEntry[], endIndex: number, phase: ReadonlySet<string>): readonly EventLogEntry[] | undefined {
  let start = endIndex;
  while (start > 0 && phase.has((log[start - 1] as EventLogEntry).event)) start -= 1;
  return start === 0 && log.length >= EVENT_LOG_LIMIT ? undefined : log.slice(start, endIndex);
}

/** Seconds from the run's first event named in `starts` to `end`; undefined when it has none. */
function secondsFrom(run: readonly EventLogEntry[] | undefined, starts: ReadonlySet<string>, end: EventLogEntry): number | undefined {
  const first = run?.find((entry) => starts.has(entry.event));
  return first === undefined ? undefined : Math.max(0, Date.parse(end.at) - Date.parse(first.at)) / 1000;
}
