import { randomUUID } from "node:crypto";
import type { RedisNodes } from "../../src/config/env.js";
import { createRedisStore, type RedisStore } from "../../src/store/redis/redis-store.js";
import type { ContractBacking } from "./store.contract.js";

/**
 * The contract's spaces where Redis has no numbered databases to give each
 * one (a cluster has only database 0): space "main" is the `main`
 * deployment; every other space is `other`, emptied whenever a space not
 * opened before is, so it starts empty. The contract uses one such space at
 * a time. Stores connect as the app does, from the nodes.
 */
export function twoKeyspaceBacking(main: RedisNodes, other: { nodes: RedisNodes; flush: () => Promise<void> }): ContractBacking {
  const prefix = `ephemera-test-${randomUUID().slice(0, 8)}:`;
  const stores: RedisStore[] = [];
  let otherSpace: string | undefined;
  return {
    prefix,
    async open(space) {
      if (space !== "main" && space !== otherSpace) {
        await other.flush();
        otherSpace = space;
      }
      const store = createRedisStore({ nodes: space === "main" ? main : other.nodes, prefix });
      stores.push(store);
      return store;
    },
    async dispose() {
      await Promise.all(stores.map((store) => store.close()));
    },
  };
}
