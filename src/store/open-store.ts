import { chmodSync, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import type { Logger } from "pino";
import type { AppEnv } from "../config/env.js";
import { createRedisStore } from "./redis/redis-store.js";
import { openSqliteStore } from "./sqlite/sqlite-store.js";
import type { StateStore } from "../lifecycle/state-store.js";

/**
 * Picks the adapter: Redis when REDIS_URL, a Redis Cluster's nodes or
 * Sentinel's are set (any number of replicas), the embedded SQLite file
 * otherwise (one instance, nothing else to run).
 * Opening Redis does not wait for it: a replica that starts while Redis is
 * down serves /readyz 503 and catches up when Redis returns.
 */
export function openStore(env: Pick<AppEnv, "redisUrl" | "redisNodes" | "keyPrefix" | "dataDir">, log: Logger): StateStore {
  if (env.redisUrl || env.redisNodes) {
    const storeLog = log.child({ name: "store", store: "redis" });
    const nodes = env.redisNodes;
    const variable = nodes === undefined ? "REDIS_URL" : "cluster" in nodes ? "EPHEMERA_REDIS_CLUSTER_NODES" : "EPHEMERA_REDIS_SENTINELS";
    return createRedisStore({
      ...(nodes === undefined ? { url: env.redisUrl } : { nodes }),
      prefix: env.keyPrefix,
      onError: (error) => storeLog.warn({ err: error }, `Redis connection error; retrying (check ${variable} and that Redis is up)`),
    });
  }
  const dataDir = resolve(env.dataDir);
  // The store's directory is the app's alone, one made by an earlier version included: steps run as other users.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  const storeLog = log.child({ name: "store", store: "sqlite" });
  storeLog.info({ dataDir }, "using the embedded store (set REDIS_URL, or a Redis Cluster's or Sentinel's nodes, to share state between replicas)");
  return openSqliteStore({
    dataDir,
    prefix: env.keyPrefix,
    onError: (error) => storeLog.warn({ err: error }, "expiry sweep of the embedded store failed; it runs again shortly"),
  });
}
