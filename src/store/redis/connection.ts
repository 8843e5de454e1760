import { Redis } from "ioredis";

/** Reconnect backoff: 100 ms, doubling up to this cap, then this often for ever. */
const MAX_RECONNECT_DELAY_MS = 1000;

/**
 * The store's own client, tuned so an outage fails fast instead of hanging:
 * - `maxRetriesPerRequest: 0`: a command waiting for the connection fails as
 *   soon as a reconnect attempt fails (within about a second), instead of
 *   queueing through 20 attempts (the ioredis default);
 * - `autoResendUnfulfilledCommands: false`: a command in flight when the
 *   connection dropped may have run; resending a commit or an intent could
 *   apply it twice, so it fails and its caller decides;
 * - reconnecting never stops but backs off to once a second, so a long
 *   outage neither spins nor needs a restart.
 */
export function openClient(url: string): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (attempt) => Math.min(100 * 2 ** (attempt - 1), MAX_RECONNECT_DELAY_MS),
    connectTimeout: 2000,
  });
}

/**
 * PING raced against a timer: whatever the client's retry settings (a client
 * passed in may queue commands for ever), this answers within `timeoutMs`.
 */
export async function pingWithin(client: Redis, timeoutMs: number): Promise<void> {
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
export async function closeClient(client: Redis): Promise<void> {
  if (client.status === "ready") {
    await client.quit().catch(() => client.disconnect());
  } else {
    client.disconnect();
  }
}
