import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { makeEngine, type Engine, type EngineDeps, type EngineOptions } from "./engine.js";
import type { EnvKey } from "./environment.js";
import { reconcileEnvironment } from "./reconcile-env.js";

/**
 * The worker loop: claims due environments from the store's due index (its
 * cost grows with what is due, not with what is stored), reconciles up to
 * `concurrency` of them at once, and goes back for more. Any number of
 * workers, in any number of processes, can share one store: the claim hides
 * an environment from the others, the lease makes sure only one works on it,
 * and fencing refuses the writes of one whose lease ran out.
 */
export class Reconciler {
  readonly engine: Engine;
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly stopController = new AbortController();
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(deps: EngineDeps, options: Partial<EngineOptions> = {}, owner = `worker-${randomUUID()}`) {
    this.engine = makeEngine(deps, options, owner);
  }

  /** Starts the loop in the background; `stop` ends it. */
  start(): void {
    this.loop ??= this.runLoop();
  }

  /**
   * Stops claiming, aborts the steps that run (they are resumed by another
   * worker, or by this one after a restart: providers are idempotent) and
   * waits for the work in flight to end.
   */
  async stop(): Promise<void> {
    this.stopController.abort("shutdown");
    this.wake?.();
    await this.loop;
    await Promise.allSettled(this.inFlight.values());
  }

  /**
   * Reconciles every environment due now, in batches, and waits for them: the
   * CLI's `gc` (reap what is expired now) and tests. Returns how many it took.
   */
  async runDue(): Promise<number> {
    let total = 0;
    for (;;) {
      const keys = await this.claim(this.engine.options.batchSize);
      if (keys.length === 0) return total;
      total += keys.length;
      await Promise.all(keys.map((key) => this.reconcile(key)));
    }
  }

  /** Reconciles one environment now, whether due or not. */
  reconcile(key: EnvKey): Promise<void> {
    const id = `${key.repoId}/${key.pr}`;
    const running = this.inFlight.get(id);
    if (running) return running;
    const work = reconcileEnvironment(this.engine, key, this.stopController.signal).finally(() => {
      this.inFlight.delete(id);
      this.wake?.();
    });
    this.inFlight.set(id, work);
    return work;
  }

  private claim(limit: number): Promise<EnvKey[]> {
    const { now, options, deps } = this.engine;
    return deps.store.claimDue(now(), limit, options.claimHideMs);
  }

  private async runLoop(): Promise<void> {
    const { options, deps } = this.engine;
    const stopped = this.stopController.signal;
    while (!stopped.aborted) {
      const free = options.concurrency - this.inFlight.size;
      let claimed: EnvKey[] = [];
      try {
        if (free > 0) claimed = await this.claim(Math.min(free, options.batchSize));
      } catch (error) {
        deps.log.warn({ err: error }, "could not claim due environments; retrying (is the store reachable?)");
      }
      for (const key of claimed) void this.reconcile(key);
      if (claimed.length === 0 || free - claimed.length <= 0) await this.idle();
    }
  }

  /**
   * Waits for a slot to free, the poll interval to pass, or `stop`. The timer
   * keeps the process alive: a worker with nothing due must not exit.
   */
  private async idle(): Promise<void> {
    const poll = new AbortController();
    const woken = new Promise<void>((resolve) => (this.wake = resolve));
    await Promise.race([woken, sleep(this.engine.options.idlePollMs, undefined, { signal: poll.signal }).catch(() => undefined)]);
    poll.abort();
    this.wake = undefined;
  }
}
