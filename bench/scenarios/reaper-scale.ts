import type { Redis } from "ioredis";
import { DEFAULT_ENGINE_OPTIONS } from "../../src/lifecycle/engine.js";
import type { EnvKey } from "../../src/lifecycle/environment.js";
import { makeKeys, type Keys } from "../../src/store/keys.js";
import { createRedisStore, type RedisStore } from "../../src/store/redis/redis-store.js";
import { startPrivateRedis } from "../../test/helpers/redis-server.js";
import { bulkLoad, templateFrom, type BulkResult, type EnvTemplate } from "../lib/bulk-envs.js";
import type { BenchContext, ScenarioResult } from "../lib/context.js";
import { figure } from "../lib/figures.js";
import { usedMemory } from "../lib/redis-info.js";
import { eachLimited, writeReadyEnvironment } from "../lib/sample-envs.js";
import { median, round } from "../lib/stats.js";

/**
 * Scenario 3: the reaper's sweep (claiming every due environment through
 * the real adapter's `claimDue`, in the reconciler's batch size, as its loop
 * does) with 10,000 and with 1,000,000 environments stored, 1,000 due in
 * each: 1,000 repositories, one due environment each, so only the number
 * stored differs. And the memory an environment costs in Redis, measured on
 * environments the real adapter wrote.
 */

const PREFIX = "bench:";
const FIRST_REPO = 100_001;
const MAX_CLAIMS_PER_SWEEP = 10_000;

export async function reaperAtScale(ctx: BenchContext): Promise<ScenarioResult> {
  const { repos, smallPrsPerRepo, largePrsPerRepo, sample, rounds } = ctx.options.reaper;
  const keys = makeKeys(PREFIX);
  const small = await openTarget(ctx, keys);
  const large = await openTarget(ctx, keys);

  ctx.progress(`3: writing ${sample.toLocaleString("en-US")} ready environments through the adapter (recordIntent + commit)`);
  const memory = await bytesPerEnvironment(small.store, small.admin, keys, sample);
  const template = templateFrom(keys, await small.store.exportKeys({ repoId: FIRST_REPO, pr: 1 }));
  await small.admin.flushall();

  const smallLoad = await load(ctx, small, template, { repos, prsPerRepo: smallPrsPerRepo });
  const largeLoad = await load(ctx, large, template, { repos, prsPerRepo: largePrsPerRepo });
  // Taking turns, so that whatever else the machine does meanwhile slows both alike.
  ctx.progress(`3: sweeping, 1 warm-up and ${rounds} rounds each, taking turns`);
  const smallSweeps: number[] = [];
  const largeSweeps: number[] = [];
  let claimCalls = 0;
  for (let i = 0; i <= rounds; i++) {
    for (const [target, loaded, sweeps] of [[small, smallLoad, smallSweeps], [large, largeLoad, largeSweeps]] as const) {
      const { ms, calls } = await sweep(target.store, loaded.due);
      await restoreDue(target, loaded.due);
      if (i > 0) sweeps.push(ms);
      claimCalls = calls;
    }
  }

  const count = (n: number) => n.toLocaleString("en-US");
  const { due: _smallDue, ...smallDetails } = smallLoad;
  const { due: _largeDue, ...largeDetails } = largeLoad;
  return {
    figures: [
      figure({
        scenario: "3 reaper at scale",
        figure: `sweep of ${count(repos)} due, ${count(largeLoad.envs)} stored (floor: ${count(smallLoad.envs)} stored)`,
        unit: "ms",
        value: median(largeSweeps),
        floor: median(smallSweeps),
        goal: { text: `≤ 1.5× the ${count(smallLoad.envs)} sweep`, met: median(largeSweeps) <= 1.5 * median(smallSweeps) },
        rounds: largeSweeps,
        floorRounds: smallSweeps,
        note: `claimDue(now, ${DEFAULT_ENGINE_OPTIONS.batchSize}, ${DEFAULT_ENGINE_OPTIONS.claimHideMs}) until empty: ${claimCalls} calls a sweep`,
      }),
      figure({
        scenario: "3 reaper at scale",
        figure: "Redis memory per environment (adapter-written; floor: its key names + values)",
        unit: "bytes",
        value: memory.bytesPerEnv,
        floor: memory.rawBytesPerEnv,
        goal: { text: "< 2 KB (2,048 bytes)", met: memory.bytesPerEnv < 2048 },
        note: `${count(sample)} environments; ${memory.deliveriesBytes} bytes of it (MEMORY USAGE) are the deliveries key with the opening webhook's id`,
      }),
    ],
    details: { reaper: { memory, small: smallDetails, large: largeDetails, smallSweepsMs: smallSweeps, largeSweepsMs: largeSweeps } },
  };
}

interface Target {
  port: number;
  store: RedisStore;
  admin: Redis;
  keys: Keys;
}

/** A private redis-server and the real adapter on it. */
async function openTarget(ctx: BenchContext, keys: Keys): Promise<Target> {
  const redis = await startPrivateRedis();
  ctx.defer(() => redis.stop());
  const store = createRedisStore({ url: redis.url, prefix: keys.prefix });
  ctx.defer(() => store.close());
  return { port: redis.port, store, admin: redis.client(), keys };
}

interface Loaded extends BulkResult {
  /** used_memory delta / environments after the bulk load (its keys only; see bulk-envs.ts). */
  bulkBytesPerEnv: number;
}

async function load(ctx: BenchContext, target: Target, template: EnvTemplate, layout: { repos: number; prsPerRepo: number }): Promise<Loaded> {
  const envs = layout.repos * layout.prsPerRepo;
  ctx.progress(`3: bulk-loading ${envs.toLocaleString("en-US")} environments (${layout.repos} repositories × ${layout.prsPerRepo} PRs), pipelined`);
  const before = await usedMemory(target.admin);
  const loaded = await bulkLoad(target.port, target.keys, template, { ...layout, firstRepoId: FIRST_REPO, now: Date.now() });
  const bulkBytesPerEnv = round(((await usedMemory(target.admin)) - before) / envs, 1);
  ctx.progress(`3: ${loaded.commands.toLocaleString("en-US")} commands in ${(loaded.ms / 1000).toFixed(1)} s`);
  return { ...loaded, ms: round(loaded.ms), bulkBytesPerEnv };
}

/** Claims until nothing is due, as the reconciler's loop would; checks it got exactly the due ones. */
async function sweep(store: RedisStore, due: readonly EnvKey[]): Promise<{ ms: number; calls: number }> {
  const { batchSize, claimHideMs } = DEFAULT_ENGINE_OPTIONS;
  const now = Date.now();
  const claimed: EnvKey[] = [];
  let calls = 0;
  const started = performance.now();
  for (;;) {
    if (++calls > MAX_CLAIMS_PER_SWEEP) throw new Error(`the sweep did not end within ${MAX_CLAIMS_PER_SWEEP} claims`);
    const batch = await store.claimDue(now, batchSize, claimHideMs);
    if (batch.length === 0) break;
    claimed.push(...batch);
  }
  const ms = performance.now() - started;
  const expected = new Set(due.map(({ repoId, pr }) => `${repoId}/${pr}`));
  if (claimed.length !== expected.size || !claimed.every(({ repoId, pr }) => expected.has(`${repoId}/${pr}`))) {
    throw new Error(`the sweep claimed ${claimed.length} environments; ${expected.size} were due`);
  }
  return { ms, calls };
}

/** Puts the claimed environments back where they were: due in their repository's set and in the global index. */
async function restoreDue({ admin, keys }: Target, due: BulkResult["due"]): Promise<void> {
  const write = admin.pipeline();
  for (const { repoId, pr, score } of due) {
    write.zadd(keys.repoDue(repoId), score, `pr-${pr}`);
    write.zadd(keys.globalDue(), score, String(repoId));
  }
  await write.exec();
}

interface MemoryFigures {
  sample: number;
  bytesPerEnv: number;
  /** MEMORY USAGE of one environment's `deliveries` key (the opening webhook's id, kept 7 days), part of it. */
  deliveriesBytes: number;
  /** The data itself: key names and values of the environment's keys (deliveries included) and its index entries. */
  rawBytesPerEnv: number;
  /** One environment's keys: the bytes of its value, and what Redis says the key costs (MEMORY USAGE). */
  perKey: Array<{ part: string; valueBytes: number; memoryUsage: number }>;
}

async function bytesPerEnvironment(store: RedisStore, admin: Redis, keys: Keys, count: number): Promise<MemoryFigures> {
  const now = Date.now();
  const perRepo = Math.max(1, Math.round(count / 1000));
  const envs: EnvKey[] = Array.from({ length: count }, (_, i) => ({ repoId: FIRST_REPO + Math.floor(i / perRepo), pr: (i % perRepo) + 1 }));
  // One environment first, so the scripts are loaded and the global keys exist before the baseline.
  await writeReadyEnvironment(store, { repoId: 1, pr: 1 }, now);
  const before = await usedMemory(admin);
  await eachLimited(envs, 64, (key) => writeReadyEnvironment(store, key, now));
  const after = await usedMemory(admin);

  const perKey = await keyCosts(store, admin, keys, envs[0] as EnvKey);
  const rawSample = envs.filter((_, i) => i % Math.max(1, Math.floor(count / 100)) === 0);
  let raw = 0;
  for (const key of rawSample) {
    for (const { key: name, value } of await store.exportKeys(key)) {
      raw += Buffer.byteLength(name) + (Array.isArray(value) ? value.reduce((sum, item) => sum + Buffer.byteLength(String(item)), 0) : Buffer.byteLength(value));
    }
    // Its due entry (member + 8-byte score) and its envs-set member.
    raw += 2 * Buffer.byteLength(`pr-${key.pr}`) + 8;
  }
  return {
    sample: count,
    bytesPerEnv: (after - before) / count,
    deliveriesBytes: perKey.find(({ part }) => part === "deliveries")?.memoryUsage ?? 0,
    rawBytesPerEnv: raw / rawSample.length,
    perKey,
  };
}

async function keyCosts(store: RedisStore, admin: Redis, keys: Keys, key: EnvKey): Promise<MemoryFigures["perKey"]> {
  const entries = (await store.exportKeys(key)).map(({ key: name, value }) => ({
    name,
    part: keys.parseEnv(name)?.part ?? name,
    valueBytes: Array.isArray(value) ? value.reduce((sum, item) => sum + Buffer.byteLength(String(item)), 0) : Buffer.byteLength(value),
  }));
  const costs: MemoryFigures["perKey"] = [];
  for (const { name, part, valueBytes } of entries) {
    costs.push({ part, valueBytes, memoryUsage: Number(await admin.call("MEMORY", "USAGE", name, "SAMPLES", "0")) });
  }
  return costs;
}

