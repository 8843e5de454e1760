import { randomUUID } from "node:crypto";
import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EnvKey } from "../../src/lifecycle/environment.js";
import { makeKeys } from "../../src/store/keys.js";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import { startPrivateRedisCluster, type PrivateRedisCluster } from "../helpers/redis-cluster.js";
import { waitFor } from "../helpers/wait-for.js";
import { expectFailsFastAndRecovers } from "./outage.js";
import { storeContract } from "./store.contract.js";
import { twoKeyspaceBacking } from "./two-keyspaces.js";

const HOUR = 3_600_000;

/** The contract's main space: 3 masters and 3 replicas. Its other spaces: 3 masters. */
let cluster: PrivateRedisCluster;
let spaces: PrivateRedisCluster;

beforeAll(async () => {
  [cluster, spaces] = await Promise.all([startPrivateRedisCluster(), startPrivateRedisCluster({ replicasPerMaster: 0 })]);
});
afterAll(async () => {
  await Promise.all([cluster?.stop(), spaces?.stop()]);
});

storeContract("redis", async () => twoKeyspaceBacking({ cluster: cluster.nodes }, { nodes: { cluster: spaces.nodes }, flush: () => spaces.flushAll() }));

describe("Redis store on a cluster", () => {
  it("rebuilds the global indexes from the repositories' own, found on every master", async () => {
    const prefix = `ephemera-test-${randomUUID().slice(0, 8)}:`;
    const keys = makeKeys(prefix);
    const store = createRedisStore({ nodes: { cluster: cluster.nodes }, prefix });
    const raw = new Cluster(cluster.nodes);
    try {
      // Twenty repositories: their slots spread over the three masters.
      const repoIds = Array.from({ length: 20 }, (_, i) => 500 + i);
      for (const repoId of repoIds) {
        await store.acquireLease({ repoId, pr: 1 }, "lease", "w", HOUR);
        await store.commit({ repoId, pr: 1 }, { name: "lease", owner: "w" }, { set: { status: "ready" }, dueAt: Date.now() - 1000, keyTtlMs: HOUR });
      }
      await raw.del(keys.globalDue());
      await raw.del(keys.globalRepos());
      expect(await store.listRepos()).toEqual([]);

      await store.rebuildGlobalIndexes();
      expect(await store.listRepos()).toEqual(repoIds);
      expect(await store.claimDue(Date.now(), 100, HOUR)).toHaveLength(repoIds.length);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });
});

describe("Redis store on a cluster: wakes", () => {
  it("wakes a subscriber of another process for intents recorded in any slot", async () => {
    const prefix = `ephemera-test-${randomUUID().slice(0, 8)}:`;
    const recorder = createRedisStore({ nodes: { cluster: cluster.nodes }, prefix });
    const worker = createRedisStore({ nodes: { cluster: cluster.nodes }, prefix });
    try {
      const heard: EnvKey[] = [];
      await worker.subscribeWakes((key) => heard.push(key));
      // Repositories whose slots spread over the three masters, recorded in one turn: one pipeline per slot.
      const keys = Array.from({ length: 6 }, (_, i) => ({ repoId: 700 + i, pr: 1 }));
      await Promise.all(keys.map((key) => recorder.recordIntent(key, { type: "refresh", at: new Date().toISOString() }, { keyTtlMs: HOUR })));
      await waitFor(() => heard.length === keys.length, () => JSON.stringify(heard));
      expect(heard).toEqual(expect.arrayContaining(keys));
    } finally {
      await Promise.all([recorder.close(), worker.close()]);
    }
  });
});

describe("Redis store on a cluster while no node answers", () => {
  it("fails fast, and recovers", async () => {
    // The contract's other-spaces cluster: the main one stays up for the failover below.
    const store = createRedisStore({ nodes: { cluster: spaces.nodes }, prefix: `ephemera-test-${randomUUID().slice(0, 8)}:`, onError: () => undefined });
    try {
      await expectFailsFastAndRecovers(store, spaces);
    } finally {
      await store.close();
    }
  });
});

describe("Redis store on a cluster whose master fails over", () => {
  it("loses no acknowledged intent or commit, and keeps working after", async () => {
    const prefix = `ephemera-test-${randomUUID().slice(0, 8)}:`;
    const store = createRedisStore({ nodes: { cluster: cluster.nodes }, prefix, onError: () => undefined });
    const repoId = 4242;
    const envs: EnvKey[] = [1, 2, 3].map((pr) => ({ repoId, pr }));
    const recorded = new Map<number, string[]>(envs.map(({ pr }) => [pr, []]));
    const lastCommitted = new Map<number, number>();
    let attempts = 0;
    let failures = 0;
    let failedOver = false;
    let afterFailover = 0;
    try {
      for (const key of envs) expect(await store.acquireLease(key, "lease", "w", HOUR)).toBe(true);

      // Intents and commits, one after the other, until well after the failover.
      const work = (async () => {
        for (let i = 0; !failedOver || afterFailover < 20; i += 1) {
          const key = envs[i % envs.length] as EnvKey;
          attempts += 1;
          try {
            if (i % 4 === 3) {
              const expiresAt = new Date(Date.UTC(2030, 0, 1) + i).toISOString();
              const result = await store.commit(key, { name: "lease", owner: "w" }, { set: { expires_at: expiresAt }, dueAt: null, keyTtlMs: HOUR });
              expect(result).toBe("committed");
              lastCommitted.set(key.pr, i);
            } else {
              expect(await store.recordIntent(key, { type: "refresh", at: new Date().toISOString() }, { deliveryId: `d-${i}`, keyTtlMs: HOUR })).toBe("recorded");
              recorded.get(key.pr)?.push(`d-${i}`);
            }
            if (failedOver) afterFailover += 1;
          } catch {
            // Not acknowledged: it may or may not have happened, and nothing below counts on it.
            failures += 1;
          }
        }
      })();

      await waitFor(() => attempts >= 30);
      const moved = await cluster.failover(makeKeys(prefix).env(envs[0] as EnvKey, "inbox"));
      expect(moved.to).not.toBe(moved.from);
      failedOver = true;
      await work;

      expect(lastCommitted.size).toBe(envs.length);
      for (const key of envs) {
        const exported = await store.exportKeys(key);
        const deliveries = (exported.find((entry) => entry.key.endsWith(":deliveries"))?.value ?? []) as Array<[string, number]>;
        expect(deliveries.map(([id]) => id)).toEqual(expect.arrayContaining(recorded.get(key.pr) ?? []));
        const snapshot = await store.load(key);
        expect(snapshot?.inbox.length).toBeGreaterThanOrEqual(recorded.get(key.pr)?.length ?? 0);
        const committed = lastCommitted.get(key.pr);
        if (committed !== undefined) expect(Date.parse(snapshot?.fields.expires_at ?? "")).toBeGreaterThanOrEqual(Date.UTC(2030, 0, 1) + committed);
      }
      // Failed calls are few (those caught by the switch), and the store works after it.
      expect(failures).toBeLessThan(attempts / 2);
      const fresh = { repoId, pr: 9 };
      expect(await store.recordIntent(fresh, { type: "refresh", at: new Date().toISOString() }, { deliveryId: "after", keyTtlMs: HOUR })).toBe("recorded");
      expect(await store.claimDue(Date.now(), 10, HOUR)).toEqual(expect.arrayContaining([fresh]));
    } finally {
      await store.close();
    }
  });
});
