import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EnvKey } from "../../src/lifecycle/environment.js";
import type { Intent } from "../../src/lifecycle/intent.js";
import { makeKeys } from "../../src/store/keys.js";
import { createRedisStore, type RedisStore } from "../../src/store/redis/redis-store.js";
import { startPrivateRedis, type PrivateRedis } from "../helpers/redis-server.js";
import { waitFor } from "../helpers/wait-for.js";
import { storeContract } from "./store.contract.js";

const HOUR = 3_600_000;
const freshPrefix = () => `ephemera-test-${randomUUID().slice(0, 8)}:`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

storeContract("redis", async () => {
  const redis = await startPrivateRedis();
  const prefix = freshPrefix();
  // A space is a database of the same server: same key prefix, separate keyspace.
  const databases = new Map<string, number>();
  const stores: RedisStore[] = [];
  return {
    prefix,
    async open(space) {
      const db = databases.get(space) ?? databases.size;
      if (db > 15) throw new Error("redis-server has 16 databases: too many spaces");
      databases.set(space, db);
      const store = createRedisStore({ url: `${redis.url}/${db}`, prefix });
      stores.push(store);
      return store;
    },
    async dispose() {
      await Promise.all(stores.map((store) => store.close()));
      await redis.stop();
    },
  };
});

function refresh(): Intent {
  return { type: "refresh", at: new Date().toISOString() };
}

/** Replaces the client socket's `write` to count what is sent: a pipeline goes out in one write, so one write is one round trip. */
function countSocketWrites(client: Redis) {
  const socket = client.stream;
  const write = socket.write;
  let writes = 0;
  socket.write = function (this: typeof socket, ...args: unknown[]) {
    writes += 1;
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as typeof socket.write;
  return {
    get writes() {
      return writes;
    },
    restore: () => {
      socket.write = write;
    },
  };
}

async function scanAll(client: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== "0");
  return found;
}

describe("Redis store", () => {
  let redis: PrivateRedis;
  let raw: Redis;
  let opened: RedisStore[];

  beforeAll(async () => {
    redis = await startPrivateRedis();
    raw = redis.client();
    opened = [];
  });
  afterAll(async () => {
    await Promise.all(opened.map((store) => store.close()));
    await redis.stop();
  });

  function freshStore(client?: Redis) {
    const prefix = freshPrefix();
    const store = createRedisStore(client ? { client, prefix } : { url: redis.url, prefix });
    opened.push(store);
    return { store, keys: makeKeys(prefix) };
  }

  async function commitAs(store: RedisStore, key: EnvKey, dueAt: number | null, keyTtlMs = HOUR) {
    await store.acquireLease(key, "lease", "w", HOUR);
    await store.commit(key, { name: "lease", owner: "w" }, { set: { status: "ready" }, events: [{ at: "t", event: "e" }], dueAt, keyTtlMs });
  }

  it("gives every key a store TTL, and indexes outlive what they index", async () => {
    const { store, keys } = freshStore();
    const [a, b, c] = [{ repoId: 1, pr: 1 }, { repoId: 1, pr: 2 }, { repoId: 2, pr: 1 }];
    const now = Date.now();
    await store.recordIntent(a, refresh(), { deliveryId: "d-1", keyTtlMs: HOUR });
    await store.recordIntent(c, refresh(), { keyTtlMs: 2 * HOUR });
    await commitAs(store, a, now + HOUR, 3 * HOUR);
    await commitAs(store, b, now - 1000);
    await store.claimDue(now, 10, HOUR);
    await store.markDue({ repoId: 3, pr: 9 }, now);
    await store.admit(a, now, { perRepo: 1, global: 5 });
    await store.admit(b, now + 1, { perRepo: 1, global: 5 });
    await store.releaseAdmission(c);
    await store.setMeta("cursor", "x", HOUR);
    await store.listKeys();

    const found = await scanAll(raw, `${keys.prefix}*`);
    expect(found).toEqual(expect.arrayContaining([keys.globalDue(), keys.globalRepos(), keys.globalActive(), keys.globalQueue(), keys.repoDue(3)]));
    const ttls = new Map(await Promise.all(found.map(async (key) => [key, await raw.pttl(key)] as const)));
    for (const [key, ttl] of ttls) expect(ttl, key).toBeGreaterThan(0);

    const ttlOf = (key: string) => ttls.get(key) ?? -2;
    const slackMs = 1000;
    for (const repoId of [1, 2]) {
      const envKeys = found.filter((key) => key.startsWith(`${keys.prefix}{${repoId}}:env:`));
      const longest = Math.max(...envKeys.map(ttlOf));
      expect(ttlOf(keys.repoEnvs(repoId))).toBeGreaterThanOrEqual(longest - slackMs);
      expect(ttlOf(keys.repoDue(repoId))).toBeGreaterThanOrEqual(longest - slackMs);
      expect(ttlOf(keys.globalDue())).toBeGreaterThanOrEqual(ttlOf(keys.repoDue(repoId)) - slackMs);
      expect(ttlOf(keys.globalRepos())).toBeGreaterThanOrEqual(ttlOf(keys.repoEnvs(repoId)) - slackMs);
    }
  });

  /** A store whose scripts are loaded and whose connection is up, and a counter of its socket writes from now on. */
  async function warmStoreCountingWrites() {
    const client = redis.client();
    await client.ping();
    const { store } = freshStore(client);
    await store.recordIntent({ repoId: 1, pr: 1 }, refresh(), { keyTtlMs: HOUR });
    return { store, counter: countSocketWrites(client) };
  }

  it("keeps a token bucket only until it would be full again", async () => {
    const { store, keys } = freshStore();
    await store.takeToken("github-writes:7", { perSecond: 10, burst: 2 });
    // One token short of two, at ten a second: full again in 100 ms, kept a second beyond.
    const ttl = await raw.pttl(keys.bucket("github-writes:7"));
    expect(ttl).toBeGreaterThan(900);
    expect(ttl).toBeLessThanOrEqual(1100);
  });

  it("records an intent in one round trip", async () => {
    const { store, counter } = await warmStoreCountingWrites();
    try {
      expect(await store.recordIntent({ repoId: 1, pr: 2 }, refresh(), { deliveryId: "d-2", keyTtlMs: HOUR })).toBe("recorded");
      expect(counter.writes).toBe(1);
      expect(await store.recordIntent({ repoId: 1, pr: 2 }, refresh(), { deliveryId: "d-2", keyTtlMs: HOUR })).toBe("duplicate");
      expect(counter.writes).toBe(2);
    } finally {
      counter.restore();
    }
  });

  it("wakes the subscribers of every process on the same prefix when an intent is recorded, and only them", async () => {
    const prefix = freshPrefix();
    const recorder = createRedisStore({ url: redis.url, prefix });
    const own = createRedisStore({ url: redis.url, prefix });
    const given = createRedisStore({ client: redis.client(), prefix });
    const elsewhere = createRedisStore({ url: redis.url, prefix: freshPrefix() });
    opened.push(recorder, own, given, elsewhere);
    const heard = { own: [] as EnvKey[], given: [] as EnvKey[], elsewhere: [] as EnvKey[] };
    await own.subscribeWakes((key) => heard.own.push(key));
    await given.subscribeWakes((key) => heard.given.push(key));
    await elsewhere.subscribeWakes((key) => heard.elsewhere.push(key));

    await Promise.all([recorder.recordIntent({ repoId: 7, pr: 3 }, refresh(), { keyTtlMs: HOUR }), recorder.recordIntent({ repoId: 8, pr: 4 }, refresh(), { keyTtlMs: HOUR })]);
    await waitFor(() => heard.own.length === 2 && heard.given.length === 2);
    expect(heard.own).toEqual([{ repoId: 7, pr: 3 }, { repoId: 8, pr: 4 }]);
    expect(heard.given).toEqual(heard.own);

    await elsewhere.recordIntent({ repoId: 9, pr: 5 }, refresh(), { keyTtlMs: HOUR });
    await waitFor(() => heard.elsewhere.length > 0);
    expect(heard.elsewhere).toEqual([{ repoId: 9, pr: 5 }]);
  });

  it("records the intents of one turn of the event loop in one round trip together", async () => {
    const { store, counter } = await warmStoreCountingWrites();
    try {
      const outcomes = await Promise.all(
        [1, 2, 3, 4].map((pr) => store.recordIntent({ repoId: pr % 2 === 0 ? 1 : 2, pr }, refresh(), { deliveryId: `turn-${pr}`, keyTtlMs: HOUR })),
      );
      expect(outcomes).toEqual(["recorded", "recorded", "recorded", "recorded"]);
      expect(counter.writes).toBe(1);
    } finally {
      counter.restore();
    }
  });

  it("rebuilds the global indexes from the repositories' own", async () => {
    const { store, keys } = freshStore();
    const key = { repoId: 77, pr: 3 };
    await commitAs(store, key, Date.now() - 1000);
    await raw.del(keys.globalDue(), keys.globalRepos());
    expect(await store.claimDue(Date.now(), 10, HOUR)).toEqual([]);
    expect(await store.listRepos()).toEqual([]);

    await store.rebuildGlobalIndexes();
    expect(await store.listRepos()).toEqual([key.repoId]);
    expect(await store.claimDue(Date.now(), 10, HOUR)).toEqual([key]);
    expect(await raw.pttl(keys.globalDue())).toBeGreaterThan(0);
    expect(await raw.pttl(keys.globalRepos())).toBeGreaterThan(0);
  });

});

describe("Redis store while Redis is down", () => {
  it("fails fast, backs off without spinning, and recovers", async () => {
    const redis = await startPrivateRedis();
    const errors: Error[] = [];
    const store = createRedisStore({ url: redis.url, prefix: freshPrefix(), onError: (error) => errors.push(error) });
    try {
      await store.ping();
      await redis.kill();

      let started = Date.now();
      await expect(store.ping()).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(2000);
      started = Date.now();
      await expect(store.load({ repoId: 1, pr: 1 })).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(2000);

      // Reconnect attempts back off to one a second: a handful of errors in 4 s, not a storm.
      const before = errors.length;
      await sleep(4000);
      expect(errors.length - before).toBeGreaterThan(0);
      expect(errors.length - before).toBeLessThanOrEqual(6);

      await redis.start();
      await expect.poll(() => store.ping().then(() => true, () => false), { timeout: 5000, interval: 200 }).toBe(true);
      // The restarted server has no scripts cached: they load again by themselves.
      expect(await store.recordIntent({ repoId: 1, pr: 1 }, refresh(), { keyTtlMs: HOUR })).toBe("recorded");
      // A token bucket lost with the data starts full again.
      expect(await store.takeToken("github-writes:1", { perSecond: 1, burst: 1 })).toBe(0);
    } finally {
      await store.close();
      await redis.stop();
    }
  });
});
