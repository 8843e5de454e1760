import type { Logger } from "pino";

/**
 * Runs a job at start-up and then again `everyMs` after each run ends, for
 * the background chores of DESIGN §8 (resync with GitHub, redelivery of
 * failed webhooks). Runs never overlap: a slow run only delays the next one.
 * The wait is jittered so that replicas started together do not call GitHub
 * in lock step. Timers are unref'd: a chore never keeps the process alive.
 */

export interface PeriodicOptions {
  /** Names the job in log lines. */
  name: string;
  everyMs: number;
  /** Its result is ignored; an error is logged and the schedule goes on. */
  run: () => Promise<unknown>;
  log: Logger;
  /** Each wait is `everyMs` times a random factor in [1 - jitter, 1 + jitter]; default 0.1. */
  jitter?: number;
}

export interface Periodic {
  /** Cancels the next run and waits for the one in progress, if any, to end. */
  stop(): Promise<void>;
}

const DEFAULT_JITTER = 0.1;

export function startPeriodic(options: PeriodicOptions): Periodic {
  const { name, everyMs, run, log } = options;
  const jitter = options.jitter ?? DEFAULT_JITTER;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const schedule = (delayMs: number) => {
    timer = setTimeout(() => {
      running = runOnce().finally(() => {
        running = undefined;
        if (!stopped) schedule(everyMs * (1 - jitter + 2 * jitter * Math.random()));
      });
    }, delayMs);
    timer.unref();
  };

  const runOnce = async () => {
    try {
      await run();
    } catch (error) {
      log.error({ err: error, job: name }, `${name} failed; it runs again in about ${Math.round(everyMs / 1000)} s`);
    }
  };

  // Through a timer, not a direct call: `startPeriodic` returns before the first run starts.
  schedule(0);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
