import type { EnvKey } from "./environment.js";
import type { WorkerContext } from "./engine.js";
import type { LeaseName } from "./state-store.js";

/**
 * The leases one worker holds on one environment (`lease`, and
 * `teardown_lock` while tearing down), renewed on a timer while it works.
 * When a renewal is refused, or none succeeded for a whole lease TTL, the
 * lease is lost: `signal` aborts, so a running step stops and nothing more is
 * written (the store would refuse it anyway: fencing).
 *
 * Each renewal also runs the `watch` callback, if any: the reconciler uses it
 * to notice a close while a step runs and abort just that step. `watchNow`
 * runs it at once, when this process records an intent for the environment.
 */
export class Leases {
  private readonly held = new Set<LeaseName>();
  private readonly lostController = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private lastRenewedAt: number;
  private watcher: (() => Promise<void>) | undefined;
  private watchRunning = false;
  private closed = false;

  constructor(
    private readonly worker: Pick<WorkerContext, "store" | "owner" | "options" | "log" | "now">,
    private readonly key: EnvKey,
  ) {
    this.lastRenewedAt = worker.now();
  }

  /** Aborted (reason "lease_lost") once any held lease is lost. */
  get signal(): AbortSignal {
    return this.lostController.signal;
  }

  async acquire(name: LeaseName): Promise<boolean> {
    const { store } = this.worker;
    const acquired = await store.acquireLease(this.key, name, this.worker.owner, this.worker.options.leaseTtlMs);
    if (acquired) {
      this.held.add(name);
      this.schedule();
    }
    return acquired;
  }

  async release(name: LeaseName): Promise<void> {
    if (!this.held.delete(name)) return;
    await this.worker.store.releaseLease(this.key, name, this.worker.owner);
  }

  async releaseAll(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const name of [...this.held]) await this.release(name);
  }

  /** Runs `fn` with `watch` called at every renewal, then stops watching. */
  async watching<T>(watch: () => Promise<void>, fn: () => Promise<T>): Promise<T> {
    this.watcher = watch;
    try {
      return await fn();
    } finally {
      this.watcher = undefined;
    }
  }

  /** Runs the watch now (not twice at once); a failure waits for the next renewal's. */
  watchNow(): void {
    if (this.watcher === undefined || this.watchRunning) return;
    void this.runWatch().catch((error: unknown) => this.worker.log.warn({ err: error, env: this.key }, "could not look for a close; the next renewal looks again"));
  }

  private async runWatch(): Promise<void> {
    this.watchRunning = true;
    try {
      await this.watcher?.();
    } finally {
      this.watchRunning = false;
    }
  }

  private schedule(): void {
    if (this.closed || this.timer !== undefined || this.signal.aborted) return;
    this.timer = setTimeout(() => void this.renew(), this.worker.options.renewEveryMs);
  }

  private async renew(): Promise<void> {
    const { store, log } = this.worker;
    const { leaseTtlMs } = this.worker.options;
    try {
      for (const name of this.held) {
        if (this.closed) return;
        if (!(await store.renewLease(this.key, name, this.worker.owner, leaseTtlMs))) {
          this.lose(`another worker took the ${name}`);
          return;
        }
      }
      this.lastRenewedAt = this.worker.now();
      if (!this.watchRunning) await this.runWatch();
    } catch (error) {
      log.warn({ err: error, env: this.key }, "could not renew the lease; retrying (is the store reachable?)");
      if (this.worker.now() - this.lastRenewedAt > leaseTtlMs) this.lose("no renewal succeeded for a whole lease TTL");
    } finally {
      this.timer = undefined;
      if (this.held.size > 0) this.schedule();
    }
  }

  private lose(why: string): void {
    if (this.closed) return;
    this.worker.log.warn({ env: this.key, why }, "lease lost: stopping work on this environment");
    this.lostController.abort("lease_lost");
  }
}
