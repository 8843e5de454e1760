import pino from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { startPeriodic } from "../../src/github/periodic.js";

const EVERY = 1_000;

/** A logger whose lines the test reads. */
function capturingLog() {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines };
}

/** A job that takes `ms` of (fake) time and records when each run started and ended. */
function slowJob(ms: number) {
  const runs: Array<{ start: number; end?: number }> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const run = async () => {
    const entry: { start: number; end?: number } = { start: Date.now() };
    runs.push(entry);
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    await new Promise((resolve) => setTimeout(resolve, ms));
    inFlight -= 1;
    entry.end = Date.now();
  };
  return { run, runs, maxInFlight: () => maxInFlight };
}

/** Stops while letting the run in progress finish in fake time. */
async function stopNow(periodic: { stop(): Promise<void> }) {
  await Promise.all([periodic.stop(), vi.runAllTimersAsync()]);
}

describe("startPeriodic", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it("runs at start, then everyMs after each run ends, never two at once", async () => {
    const job = slowJob(1_500); // longer than the interval
    const periodic = startPeriodic({ name: "job", everyMs: EVERY, run: job.run, log: capturingLog().log, jitter: 0 });
    await vi.advanceTimersByTimeAsync(0);
    expect(job.runs).toEqual([{ start: 0 }]);
    await vi.advanceTimersByTimeAsync(7_500);
    expect(job.runs.map((run) => run.start)).toEqual([0, 2_500, 5_000, 7_500]);
    expect(job.maxInFlight()).toBe(1);
    await stopNow(periodic);
  });

  it("jitters each wait within ±jitter of everyMs", async () => {
    const starts: number[] = [];
    vi.spyOn(Math, "random").mockReturnValueOnce(0).mockReturnValueOnce(0.5).mockReturnValue(0.75);
    const periodic = startPeriodic({ name: "job", everyMs: EVERY, run: async () => starts.push(Date.now()), log: capturingLog().log });
    await vi.advanceTimersByTimeAsync(900 + 1_000 + 1_050);
    expect(starts).toEqual([0, 900, 1_900, 2_950]);
    await stopNow(periodic);
  });

  it("logs a failed run and keeps the schedule", async () => {
    const { log, lines } = capturingLog();
    let calls = 0;
    const periodic = startPeriodic({
      name: "resync",
      everyMs: EVERY,
      log,
      jitter: 0,
      run: async () => {
        calls += 1;
        if (calls === 1) throw new Error("GitHub is down");
      },
    });
    await vi.advanceTimersByTimeAsync(EVERY);
    expect(calls).toBe(2);
    expect(lines).toEqual([expect.objectContaining({ level: 50, job: "resync", err: expect.objectContaining({ message: "GitHub is down" }) })]);
    await stopNow(periodic);
  });

  it("stop waits for the run in progress and starts no other", async () => {
    const job = slowJob(500);
    const periodic = startPeriodic({ name: "job", everyMs: EVERY, run: job.run, log: capturingLog().log, jitter: 0 });
    await vi.advanceTimersByTimeAsync(100);
    let stopped = false;
    const stopping = periodic.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(399);
    expect(stopped).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await stopping;
    expect(job.runs).toEqual([{ start: 0, end: 500 }]);
    await vi.advanceTimersByTimeAsync(10 * EVERY);
    expect(job.runs).toHaveLength(1);
  });

  it("stop before the first run means no run", async () => {
    const job = slowJob(0);
    await startPeriodic({ name: "job", everyMs: EVERY, run: job.run, log: capturingLog().log }).stop();
    await vi.advanceTimersByTimeAsync(10 * EVERY);
    expect(job.runs).toEqual([]);
  });
});

describe("startPeriodic's timers", () => {
  it("never keep the process alive", async () => {
    const timers: NodeJS.Timeout[] = [];
    const realSetTimeout = globalThis.setTimeout;
    const spy = vi.spyOn(globalThis, "setTimeout").mockImplementation(((...args: Parameters<typeof setTimeout>) => {
      const timer = realSetTimeout(...args);
      timers.push(timer);
      return timer;
    }) as typeof setTimeout);
    let ran!: () => void;
    const firstRun = new Promise<void>((resolve) => (ran = resolve));
    const periodic = startPeriodic({ name: "job", everyMs: 3_600_000, run: async () => ran(), log: capturingLog().log });
    await firstRun;
    await new Promise((resolve) => setImmediate(resolve));
    spy.mockRestore();
    await periodic.stop();
    expect(timers.length).toBeGreaterThanOrEqual(2);
    expect(timers.map((timer) => timer.hasRef())).toEqual(timers.map(() => false));
  });
});
