import type http from "node:http";
import type { Redis } from "ioredis";
import type { BenchProcess } from "../lib/app.js";
import { keepAliveAgent, sendOne } from "../lib/load.js";
import { callsBetween, commandCalls, readsProcessed } from "../lib/redis-info.js";
import { median, mode, round } from "../lib/stats.js";
import { storeCalls } from "../lib/store-metrics.js";
import { WEBHOOK_PATH, type SynchronizeLoad } from "../lib/webhooks.js";

/**
 * Scenario 2: store round trips a webhook costs on its hot path (from the
 * request's arrival to its answer), in the real server process. Each
 * webhook is bracketed by two readings of a counter:
 *
 * - Redis: `total_reads_processed` from `INFO stats`, the socket reads Redis
 *   served (a pipeline or a MULTI is one read: one round trip);
 * - SQLite (no network): store port calls counted by the server's own
 *   /metrics, each of which is one SQLite transaction.
 *
 * A reading's own cost (the second INFO's read; a scrape's own store calls)
 * is calibrated with nothing sent and subtracted. The same server's
 * reconciler shares the counters: a webhook makes its environment due, the
 * reconciler claims it at its next poll (within `idlePollMs`, 1 s) and the
 * GitHub notifier reads it again a second after that. So the webhooks are
 * paced, one every PACE_MS, and the servers take turns: each window then
 * falls while that server is idle.
 */

export interface RoundTripFigures {
  /** Per webhook, the counter's delta less the calibrated baseline. */
  windows: number[];
  median: number;
  /** How many windows saw each count, e.g. { "1": 12 }. */
  histogram: Record<string, number>;
  baseline: number;
  /** Each paced webhook's latency (ms): a webhook on an idle server, no queueing, no background work. */
  latenciesMs: number[];
}

export interface RoundTripTarget {
  app: BenchProcess;
  /** The counter, read once. */
  read: () => Promise<number>;
}

/** Pickup within 1 s, the notifier's coalescing second, and some slack. */
const PACE_MS = 2500;
const CALIBRATION_PAIRS = 20;

/** Reads Redis's `total_reads_processed`. */
export function redisReads(app: BenchProcess, redis: Redis): RoundTripTarget {
  return { app, read: () => readsProcessed(redis) };
}

/** Sums the server's store port calls from /metrics, leaving out the ones a scrape makes by itself. */
export async function storeCallCount(app: BenchProcess): Promise<RoundTripTarget> {
  const scrapeOnly = await scrapeOperations(app);
  return {
    app,
    read: async () => {
      const calls = await storeCalls(app.url("/metrics"));
      return Object.entries(calls).reduce((sum, [operation, n]) => (scrapeOnly.has(operation) ? sum : sum + n), 0);
    },
  };
}

/**
 * Sends `webhooks` webhooks to each target, one at a time and paced, the
 * targets taking turns; returns each target's windows. The first webhook of
 * each (not counted) creates the environment, whose set-up and first GitHub
 * update must be over before the first window.
 */
export async function roundTripsPerWebhook(targets: RoundTripTarget[], load: SynchronizeLoad, webhooks: number): Promise<RoundTripFigures[]> {
  const agents = targets.map(() => keepAliveAgent(1));
  try {
    const send = async (i: number, n: number): Promise<number> => {
      const { app } = targets[i] as RoundTripTarget;
      const started = performance.now();
      const status = await sendOne(agents[i] as http.Agent, { port: app.port, path: WEBHOOK_PATH, timeoutMs: 10_000 }, load.request(n * load.prs));
      if (status !== 200) throw new Error(`${app.name} answered a webhook with ${status}:\n${app.tail()}`);
      return performance.now() - started;
    };
    for (let i = 0; i < targets.length; i++) await send(i, 0);
    await sleep(3 * PACE_MS);
    const baselines: number[] = [];
    for (const target of targets) baselines.push(await calibrate(target.read));
    const windows: number[][] = targets.map(() => []);
    const latencies: number[][] = targets.map(() => []);
    for (let n = 1; n <= webhooks; n++) {
      for (let i = 0; i < targets.length; i++) {
        const target = targets[i] as RoundTripTarget;
        const before = await target.read();
        latencies[i]?.push(round(await send(i, n)));
        windows[i]?.push((await target.read()) - before - (baselines[i] as number));
      }
      await sleep(PACE_MS);
    }
    return windows.map((w, i) => ({ ...summarise(w, baselines[i] as number), latenciesMs: latencies[i] ?? [] }));
  } finally {
    for (const agent of agents) agent.destroy();
  }
}

/** INFO commandstats between two moments, per webhook, our own INFO left out: what the hot path and the background did. */
export async function commandsPer<T>(redis: Redis, webhooks: number, during: () => Promise<T>): Promise<{ result: T; perWebhook: Record<string, number> }> {
  const before = await commandCalls(redis);
  const result = await during();
  const calls = callsBetween(before, await commandCalls(redis));
  delete calls.info;
  return { result, perWebhook: Object.fromEntries(Object.entries(calls).map(([name, n]) => [name, Math.round((n / webhooks) * 100) / 100])) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** The counter's delta between two back-to-back readings with nothing sent: what reading it costs by itself. */
async function calibrate(counter: () => Promise<number>): Promise<number> {
  const deltas: number[] = [];
  for (let i = 0; i < CALIBRATION_PAIRS; i++) {
    const before = await counter();
    deltas.push((await counter()) - before);
  }
  return mode(deltas);
}

/**
 * Operations a /metrics scrape calls by itself (its gauges read the store):
 * those that change in every one of three back-to-back scrape pairs. The
 * reconciler's idle poll may land in one pair, never in all three.
 */
async function scrapeOperations(app: BenchProcess): Promise<Set<string>> {
  let always: Set<string> | undefined;
  for (let i = 0; i < 3; i++) {
    const first = await storeCalls(app.url("/metrics"));
    const changed = new Set(Object.keys(callsBetween(first, await storeCalls(app.url("/metrics")))));
    always = always === undefined ? changed : new Set([...always].filter((operation) => changed.has(operation)));
  }
  return always ?? new Set();
}

function summarise(windows: number[], baseline: number): Omit<RoundTripFigures, "latenciesMs"> {
  const histogram: Record<string, number> = {};
  for (const count of windows) histogram[count] = (histogram[count] ?? 0) + 1;
  return { windows, median: median(windows), histogram, baseline };
}
