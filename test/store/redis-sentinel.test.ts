import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import { startPrivateRedisSentinel, type PrivateRedisSentinel } from "../helpers/redis-sentinel.js";
import { waitFor } from "../helpers/wait-for.js";
import { expectFailsFastAndRecovers } from "./outage.js";
import { storeContract } from "./store.contract.js";
import { twoKeyspaceBacking } from "./two-keyspaces.js";

const HOUR = 3_600_000;

/** The contract's main space: a master with a replica. Its other spaces: a master of their own, under the same sentinels. */
let setup: PrivateRedisSentinel;

beforeAll(async () => {
  setup = await startPrivateRedisSentinel([
    { name: "ephemera", replicas: 1 },
    { name: "ephemera-spaces", replicas: 0 },
  ]);
});
afterAll(async () => {
  await setup?.stop();
});

storeContract("redis", async () =>
  twoKeyspaceBacking({ sentinels: setup.sentinels, master: "ephemera" }, { nodes: { sentinels: setup.sentinels, master: "ephemera-spaces" }, flush: () => setup.flush("ephemera-spaces") }),
);

describe("Redis store through Sentinel", () => {
  it("fails fast while no sentinel and no master answers, and recovers", async () => {
    const store = createRedisStore({ nodes: { sentinels: setup.sentinels, master: "ephemera" }, prefix: `ephemera-test-${randomUUID().slice(0, 8)}:`, onError: () => undefined });
    try {
      await expectFailsFastAndRecovers(store, setup);
    } finally {
      await store.close();
    }
  });

  it("follows the master the sentinels name after a failover", async () => {
    const store = createRedisStore({ nodes: { sentinels: setup.sentinels, master: "ephemera" }, prefix: `ephemera-test-${randomUUID().slice(0, 8)}:`, onError: () => undefined });
    const key = { repoId: 77, pr: 1 };
    const refresh = () => ({ type: "refresh" as const, at: new Date().toISOString() });
    try {
      expect(await store.recordIntent(key, refresh(), { deliveryId: "before", keyTtlMs: HOUR })).toBe("recorded");
      const moved = await setup.failover("ephemera");
      expect(moved.to).not.toBe(moved.from);
      // Calls caught by the switch fail (never run twice); then the store is back, on the new master.
      await waitFor(() => store.recordIntent(key, refresh(), { deliveryId: "after", keyTtlMs: HOUR }).then(() => true, () => false));
      expect(await store.recordIntent(key, refresh(), { deliveryId: "after", keyTtlMs: HOUR })).toBe("duplicate");
      expect((await store.load(key))?.inbox).toHaveLength(2);
    } finally {
      await store.close();
    }
  });
});
