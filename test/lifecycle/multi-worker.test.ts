import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { EnvKey } from "../../src/lifecycle/environment.js";
import type { Intent } from "../../src/lifecycle/intent.js";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import type { StateStore } from "../../src/lifecycle/state-store.js";
import { startPrivateRedis, type PrivateRedis } from "../helpers/redis-server.js";
import { stepWorkspace, type StepLine, type StepWorkspace } from "./harness.js";
import { waitFor } from "../helpers/wait-for.js";
import { bundleWorker, spawnWorker, type WorkerProcess } from "./worker-spawn.js";
import { SECRET_KEY } from "./world.js";

/**
 * Two, then three worker processes on one Redis, 200 environments opened, pushed and
 * closed in random order with duplicate and out-of-order deliveries: every
 * environment ends deleted, every teardown runs exactly once, no step runs
 * twice for one sha, and the active count never exceeds the limit.
 */

const ENVS = 200;
const MAX_ACTIVE = 120;
const CONFIG = {
  templates: {
    default: {
      steps: [
        { name: "build", run: "./step.sh build" },
        { name: "deploy", run: "./step.sh deploy", onUpdate: true },
      ],
      teardown: [{ name: "undeploy", run: "./step.sh undeploy" }],
    },
  },
  limits: { maxActive: MAX_ACTIVE, maxActivePerRepo: 15 },
};

let redis: PrivateRedis;
let bundle: string;
/** Each run has its own key prefix and step log, so the two never see each other's environments. */
let store: StateStore;
let ws: StepWorkspace;

beforeAll(async () => {
  [redis, bundle] = await Promise.all([startPrivateRedis(), bundleWorker()]);
});
afterAll(async () => {
  await redis.stop();
  rmSync(bundle, { force: true });
});
afterEach(async () => {
  await store.close();
  ws.dispose();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const base = Date.UTC(2026, 2, 1);
const at = (second: number) => new Date(base + second * 1000).toISOString();
const sha = (pr: number, n: number) => `${pr}x${n}`.padEnd(40, "0");

function shuffle<T>(items: T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

interface Delivery {
  key: EnvKey;
  intent: Intent;
  id: string;
}

/** Each delivery once, a third of them twice (a redelivery keeps its id), in random order. */
function withDuplicates(deliveries: Delivery[]): Delivery[] {
  return shuffle([...deliveries, ...deliveries.filter(() => Math.random() < 0.33)]);
}

function facts(type: "open" | "push", key: EnvKey, second: number, n: number): Intent {
  return { type, at: at(second), repo: `octo/r${key.repoId}`, installationId: 9, headSha: sha(key.pr, n), headRef: "f", fork: false, draft: false, labels: [] };
}

/** Max number of environments whose [first setup start, teardown end] overlap: they held a place then. */
function maxConcurrent(lines: readonly StepLine[]): number {
  const spans = new Map<string, { from: number; to: number }>();
  for (const line of lines) {
    const id = `${line.repoId}/${line.env}`;
    const span = spans.get(id) ?? { from: Number.POSITIVE_INFINITY, to: Number.NEGATIVE_INFINITY };
    if (line.phase === "setup" && line.kind === "start") span.from = Math.min(span.from, line.at);
    span.to = Math.max(span.to, line.at);
    spans.set(id, span);
  }
  const edges = [...spans.values()].flatMap(({ from, to }) => [
    { at: from, delta: 1 },
    { at: to, delta: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let current = 0;
  let max = 0;
  for (const edge of edges) {
    current += edge.delta;
    max = Math.max(max, current);
  }
  return max;
}

describe.each([2, 3])("%i workers on one Redis", (WORKERS) => {
  it(`converge ${ENVS} environments through duplicate and out-of-order intents`, async () => {
    const prefix = `mw${randomBytes(3).toString("hex")}:`;
    store = createRedisStore({ url: redis.url, prefix });
    ws = stepWorkspace();
    const keys: EnvKey[] = Array.from({ length: ENVS }, (_, i) => ({ repoId: 600 + (i % 10), pr: 1 + Math.floor(i / 10) }));
    const workers: WorkerProcess[] = Array.from({ length: WORKERS }, () =>
      spawnWorker(bundle, {
        store: { redisUrl: redis.url },
        prefix,
        dir: ws.dir,
        config: CONFIG,
        options: { leaseTtlMs: 2_000, renewEveryMs: 500, claimHideMs: 2_000, busyRetryMs: 100, queuePollMs: 2_000, idlePollMs: 20, concurrency: 8, batchSize: 8 },
        secretKey: SECRET_KEY,
      }),
    );
    await Promise.all(workers.map((worker) => worker.started));

    const started = Date.now();
    let maxSampled = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const counts = await store.admissionCounts();
        maxSampled = Math.max(maxSampled, counts.active);
        await sleep(25);
      }
    })();

    /** Records in `batches` waves, with pauses in which the workers get on with it. */
    const record = async (deliveries: Delivery[], batches = 4) => {
      const results: Array<"recorded" | "duplicate"> = [];
      for (let batch = 0; batch < batches; batch += 1) {
        const part = deliveries.filter((_, i) => i % batches === batch);
        results.push(...(await Promise.all(part.map(({ key, intent, id }) => store.recordIntent(key, intent, { deliveryId: id, keyTtlMs: 3_600_000 })))));
        await sleep(100 + Math.random() * 200);
      }
      return results;
    };
    const opens = await record(withDuplicates(keys.map((key) => ({ key, intent: facts("open", key, 10, 1), id: `open-${key.repoId}-${key.pr}` }))));
    // Pushes: two new heads, and a stale one (older than the open), in any order.
    const pushes = await record(
      withDuplicates(
        keys.flatMap((key) => [
          { key, intent: facts("push", key, 20, 2), id: `push2-${key.repoId}-${key.pr}` },
          { key, intent: facts("push", key, 30, 3), id: `push3-${key.repoId}-${key.pr}` },
          { key, intent: facts("push", key, 5, 0), id: `push0-${key.repoId}-${key.pr}` },
        ]),
      ),
      // In two waves: some environments see both new heads at once and deploy only the newer.
      2,
    );
    // Closes: a tenth at once whatever their state (queued ones never start),
    // then the rest as they get ready, so each close frees a place a queued
    // one takes; with each close a synchronize from just before it.
    const closing = (picked: EnvKey[]) =>
      withDuplicates(
        picked.flatMap((key) => [
          { key, intent: { type: "close", at: at(40), reason: "closed" } as Intent, id: `close-${key.repoId}-${key.pr}` },
          { key, intent: facts("push", key, 35, 4), id: `push4-${key.repoId}-${key.pr}` },
        ]),
      );
    const early = shuffle(keys).slice(0, ENVS / 10);
    const closes = await record(closing(early), 1);
    const open = new Set(keys.filter((key) => !early.includes(key)));
    while (open.size > 0) {
      const statuses = await Promise.all([...open].map(async (key) => ({ key, status: (await store.load(key))?.fields.status })));
      const ready = statuses.filter(({ status }) => status === "ready").map(({ key }) => key);
      const picked = shuffle(ready).slice(0, 20);
      for (const key of picked) open.delete(key);
      if (picked.length > 0) closes.push(...(await record(closing(picked), 1)));
      else await sleep(250);
    }

    await waitFor(
      async () => (await Promise.all(keys.map((key) => store.load(key)))).every((snapshot) => snapshot?.fields.status === "deleted"),
      "every environment deleted",
      90_000,
    );
    const elapsed = Date.now() - started;
    sampling = false;
    await sampler;
    await Promise.all(workers.map((worker) => worker.stop()));

    const lines = ws.lines();
    const starts = new Map<string, number>();
    for (const line of lines.filter((l) => l.kind === "start" && l.phase === "setup")) {
      const id = `${line.repoId}/${line.env}/${line.step}${line.step === "deploy" ? `/${line.sha}` : ""}`;
      starts.set(id, (starts.get(id) ?? 0) + 1);
    }
    const twice = [...starts].filter(([, count]) => count > 1);
    const teardowns = new Map<string, number>();
    for (const line of lines.filter((l) => l.step === "undeploy" && l.kind === "end")) {
      teardowns.set(`${line.repoId}/${line.env}`, (teardowns.get(`${line.repoId}/${line.env}`) ?? 0) + 1);
    }
    const provisioned = new Set(lines.filter((l) => l.phase === "setup").map((l) => `${l.repoId}/${l.env}`));
    const logConcurrency = maxConcurrent(lines);
    const duplicates = [...opens, ...pushes, ...closes].filter((result) => result === "duplicate").length;
    console.log(
      `${WORKERS} workers, ${ENVS} environments: all deleted in ${elapsed} ms; ${duplicates} duplicate deliveries refused; ` +
        `${lines.filter((l) => l.kind === "start").length} step runs; ${provisioned.size} provisioned, ${teardowns.size} torn down; ` +
        `max active sampled ${maxSampled}, max concurrent from the step log ${logConcurrency} (limit ${MAX_ACTIVE})`,
    );
    expect(twice).toEqual([]);
    expect([...teardowns.values()].every((count) => count === 1)).toBe(true);
    expect([...teardowns.keys()].sort()).toEqual([...provisioned].sort());
    // The stale push never ran anything, and nothing ran for an environment once its teardown started.
    expect(lines.filter((l) => /x00*$/.test(l.sha))).toEqual([]);
    const tornAt = new Map(lines.filter((l) => l.step === "undeploy").map((l) => [`${l.repoId}/${l.env}`, l.at]));
    expect(lines.filter((l) => l.phase === "setup" && l.at > (tornAt.get(`${l.repoId}/${l.env}`) ?? Number.POSITIVE_INFINITY))).toEqual([]);
    expect(provisioned.size).toBeGreaterThan(MAX_ACTIVE);
    expect(maxSampled).toBeLessThanOrEqual(MAX_ACTIVE);
    expect(logConcurrency).toBeLessThanOrEqual(MAX_ACTIVE);
    expect(await store.admissionCounts()).toEqual({ active: 0, queued: 0 });
  }, 120_000);
});
