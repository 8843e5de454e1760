import { Cluster, Redis, type RedisOptions } from "ioredis";
import type { RedisNodes } from "../../config/env.js";

/** A client of one Redis (REDIS_URL or Sentinel) or of a Redis Cluster: the store works on either. */
export type RedisClient = Redis | Cluster;

/** Where the store's Redis is: a URL (REDIS_URL), or the nodes of a cluster or the sentinels of a master. */
export type RedisTarget = { url: string } | RedisNodes;

/** Reconnect backoff: 100 ms, doubling up to this cap, then this often for ever. */
const MAX_RECONNECT_DELAY_MS = 1000;

const reconnectDelay = (attempt: number) => Math.min(100 * 2 ** (attempt - 1), MAX_RECONNECT_DELAY_MS);

/**
 * What every connection of the store shares, tuned so an outage fails fast
 * instead of hanging:
 * - `maxRetriesPerRequest: 0`: a command waiting for the connection fails as
 *   soon as a reconnect attempt fails (within about a second), instead of
 *   queueing through 20 attempts (the ioredis default);
 * - `autoResendUnfulfilledCommands: false`: a command in flight when the
 *   connection dropped may have run; resending a commit or an intent could
 *   apply it twice, so it fails and its caller decides.
 */
const FAIL_FAST: RedisOptions = { maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false, connectTimeout: 2000 };

/**
 * The store's own client, with FAIL_FAST, reconnecting for ever but backing
 * off to once a second, so a long outage neither spins nor needs a restart.
 * - A URL: one Redis.
 * - Sentinel: the master the sentinels name, found again after a failover.
 *   A master demoted under a client answers writes with READONLY: that
 *   command fails, and the client reconnects to ask for the new master.
 *   While no sentinel answers, the client keeps asking within one connect
 *   attempt, so `maxRetriesPerRequest` never applies: the commands waiting
 *   fail at each round of asking instead.
 * - A cluster: commands go to their slot's master; MOVED, ASK, TRYAGAIN and
 *   CLUSTERDOWN (the command did not run) are retried, but not a command whose
 *   connection closed (`retryDelayOnFailover: 0`: it may have run). Commands
 *   waiting while no node answers fail at each failed reconnect, as
 *   `maxRetriesPerRequest: 0` makes them on one Redis.
 */
export function openClient(target: RedisTarget): RedisClient {
  if ("url" in target) return new Redis(target.url, { ...FAIL_FAST, retryStrategy: reconnectDelay });
  if ("sentinels" in target) {
    const client: Redis = new Redis({
      ...FAIL_FAST,
      sentinels: target.sentinels,
      name: target.master,
      retryStrategy: reconnectDelay,
      sentinelRetryStrategy(attempt) {
        failWaitingCommands(client, "no sentinel answers");
        return reconnectDelay(attempt);
      },
      reconnectOnError: (error) => error.message.startsWith("READONLY"),
    });
    return client;
  }
  return new Cluster(target.cluster, {
    redisOptions: FAIL_FAST,
    retryDelayOnFailover: 0,
    clusterRetryStrategy(this: Cluster, attempt: number) {
      failWaitingCommands(this, "no node of the Redis Cluster answers");
      return reconnectDelay(attempt);
    },
  });
}

/**
 * A cluster reconnecting, or a Sentinel client asking its sentinels round
 * after round, keeps the commands sent meanwhile until it is back, and
 * flushes them only when it gives up (never, here). This is that flush
 * (ioredis's own, not in its types), done at each failed round instead.
 */
function failWaitingCommands(client: RedisClient, why: string): void {
  const flush = (client as unknown as { flushQueue?: (error: Error) => void }).flushQueue;
  flush?.call(client, new Error(`${why}; retrying`));
}

/** The events that report connection errors: a cluster reports each node's apart from its own. */
export function connectionErrorEvents(client: RedisClient): string[] {
  return client instanceof Cluster ? ["error", "node error"] : ["error"];
}

/** The masters to run a keyspace-wide command on (SCAN): the cluster's, or the one Redis. */
export function masters(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes("master") : [client];
}

/**
 * PING raced against a timer: whatever the client's retry settings (a client
 * passed in may queue commands for ever), this answers within `timeoutMs`.
 */
export async function pingWithin(client: RedisClient, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer PING within ${timeoutMs} ms`)), timeoutMs);
  });
  const ping = client.ping();
  // When the timer wins, the PING may still fail later: that is already reported.
  ping.catch(() => undefined);
  try {
    await Promise.race([ping, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Closes a client: QUIT lets pending replies arrive; while disconnected there is nothing to wait for. */
export async function closeClient(client: RedisClient): Promise<void> {
  if (client.status === "ready") {
    await client.quit().catch(() => client.disconnect());
  } else {
    client.disconnect();
  }
}
