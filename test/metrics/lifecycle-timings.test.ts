import { describe, expect, it } from "vitest";
import type { EventLogEntry } from "../../src/lifecycle/environment.js";
import type { LifecycleEvent } from "../../src/lifecycle/notifier.js";
import { timingsEndingAt } from "../../src/metrics/lifecycle-timings.js";
import { EVENT_LOG_LIMIT } from "../../src/lifecycle/state-store.js";

const T0 = Date.parse("2026-03-01T12:00:00.000Z");

/** An event log from `[event, seconds after T0]` pairs, as the reconciler writes it. */
function log(...entries: Array<[LifecycleEvent, number]>): EventLogEntry[] {
  return entries.map(([event, seconds]) => ({ at: new Date(T0 + seconds * 1000).toISOString(), event }));
}

function endOf(entries: EventLogEntry[]): EventLogEntry {
  return entries.at(-1) as EventLogEntry;
}

describe("lifecycle timings from the event log", () => {
  it("times a new environment from its first queued event to ready, and its setup from admission", () => {
    const entries = log(["queued", 0], ["queued", 20], ["provisioning", 60], ["step_started", 61], ["step_retry", 70], ["step_started", 80], ["step_completed", 150], ["ready", 160]);
    expect(timingsEndingAt(entries, endOf(entries))).toEqual({ timeToUrl: 160, setup: 100 });
  });

  it("does not count a wait on policy (blocked, held) towards the time to URL", () => {
    const entries = log(["blocked", 0], ["refresh", 3000], ["provisioning", 3600], ["step_started", 3601], ["step_completed", 3630], ["ready", 3640]);
    expect(timingsEndingAt(entries, endOf(entries))).toEqual({ timeToUrl: 40, setup: 40 });
  });

  it("times a run after a push from its first step, with no time to URL (the URL was already there)", () => {
    const entries = log(["provisioning", 0], ["step_started", 1], ["step_completed", 5], ["ready", 6], ["renewed", 100], ["step_started", 101], ["step_completed", 130], ["ready", 131]);
    expect(timingsEndingAt(entries, endOf(entries))).toEqual({ setup: 30 });
    // The first ready, looked at later, still reads as it did.
    expect(timingsEndingAt(entries, entries[3] as EventLogEntry)).toEqual({ timeToUrl: 6, setup: 6 });
  });

  it("times a setup that failed, and a run after it from its own first step", () => {
    const entries = log(["provisioning", 0], ["step_started", 1], ["step_retry", 10], ["step_started", 20], ["failed", 30], ["step_started", 500], ["step_completed", 520], ["ready", 525]);
    expect(timingsEndingAt(entries, entries[4] as EventLogEntry)).toEqual({ setup: 30 });
    expect(timingsEndingAt(entries, endOf(entries))).toEqual({ setup: 25 });
  });

  it("times a teardown from teardown_started to deleted, retries included", () => {
    const entries = log(["ready", 0], ["teardown_started", 100], ["teardown_retry", 110], ["teardown_step", 140], ["teardown_step", 141], ["deleted", 142]);
    expect(timingsEndingAt(entries, endOf(entries))).toEqual({ teardown: 42 });
  });

  it("reports nothing for an environment deleted before anything was made", () => {
    const entries = log(["queued", 0], ["deleted", 10]);
    expect(timingsEndingAt(entries, endOf(entries))).toEqual({});
  });

  it("reports nothing when the run reaches back past the oldest entry the capped log keeps", () => {
    const retries = Array.from({ length: EVENT_LOG_LIMIT - 2 }, (_, i): [LifecycleEvent, number] => ["teardown_retry", i + 1]);
    const full = log(["teardown_started", 0], ...retries, ["deleted", 100]).slice(-EVENT_LOG_LIMIT);
    expect(full).toHaveLength(EVENT_LOG_LIMIT);
    expect(timingsEndingAt(full, endOf(full))).toEqual({});
    // The same run in a log that was never cut short starts at its first entry.
    const short = log(["teardown_started", 0], ["teardown_retry", 1], ["deleted", 100]);
    expect(timingsEndingAt(short, endOf(short))).toEqual({ teardown: 100 });
  });

  it("reports nothing for an event the log does not hold", () => {
    const entries = log(["provisioning", 0], ["ready", 10]);
    expect(timingsEndingAt(entries, { at: new Date(T0).toISOString(), event: "ready" })).toEqual({});
  });
});
