import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { StateStore, TokenBucketLimit } from "../../lifecycle/state-store.js";

/**
 * Paces GitHub writes across replicas (DESIGN §2): before each write, one
 * token from the installation's bucket in the store, and the wait the store
 * answers. GitHub's secondary limits count an installation's writes
 * wherever they come from; Probot's throttling spaces them only within one
 * process, so N replicas would write N times as fast without this.
 *
 * The store is what Ephemera trusts already, and a bucket is an ordinary key
 * (refilled by one script, gone when full): after a Redis restart or
 * failover the next take simply starts a full bucket. Nothing is registered
 * on the client side, which is how Bottleneck's Redis mode fails.
 */
export interface WritePacer {
  /** Resolves when this installation may write. Never rejects. */
  beforeWrite(installationId: number): Promise<void>;
}

export interface WritePacerOptions {
  store: Pick<StateStore, "takeToken">;
  /** Per installation, shared by every replica. */
  limit: TokenBucketLimit;
  /** How long the store may take to answer before the write goes unpaced (default 1 s). */
  storeTimeoutMs?: number;
  log: Logger;
}

const DEFAULT_STORE_TIMEOUT_MS = 1_000;

/** The bucket of an installation's writes, as the store names it. */
export const writeBucket = (installationId: number) => `github-writes:${installationId}`;

export function createWritePacer(options: WritePacerOptions): WritePacer {
  const timeoutMs = options.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
  let failing = false;
  return {
    async beforeWrite(installationId) {
      let waitMs: number;
      try {
        waitMs = await withTimeout(options.store.takeToken(writeBucket(installationId), options.limit), timeoutMs);
      } catch (error) {
        // Fail open: pacing must never stop the comment and the deployment (issue 11.3's failure). Probot's
        // in-memory throttling still spaces this replica's writes a second apart, so an outage costs at most
        // one write a second per replica. Logged once per outage, not once per write.
        if (!failing) options.log.warn({ err: error }, "the store did not answer for GitHub write pacing; writing paced by this replica alone until it does");
        failing = true;
        return;
      }
      if (failing) options.log.info("the store answers again: GitHub writes are paced across replicas again");
      failing = false;
      if (waitMs > 0) await sleep(waitMs);
    },
  };
}

async function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  const controller = new AbortController();
  // A late answer or failure is dropped: the write has gone on without it.
  work.catch(() => undefined);
  try {
    return await Promise.race([
      work,
      sleep(timeoutMs, undefined, { signal: controller.signal, ref: false }).then(() => {
        throw new Error(`no answer within ${timeoutMs} ms`);
      }),
    ]);
  } finally {
    controller.abort();
  }
}
