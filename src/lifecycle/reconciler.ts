import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { workerContext, type EngineDeps, type EngineOptions, type WorkerContext } from "./engine.js";
import type { EnvKey } from "./environment.js";
import { Leases } from "./leases.js";
import { reconcileEnvironment } from "./reconcile-environment.js";

/**
 * The worker loop: claims due environments from the store's due index (its
 * cost grows with what is due, not with what is stored), reconciles up to
 * `concurrency` of them at once, and goes back for more. Any number of
 * workers, in any number of processes, can share one store: the claim hides
 * an environment from the others, the lease makes sure only one works on it,
 * and fencing refuses the writes of one whose lease ran out.
 */
export class Reconciler {
  private readonly worker: WorkerContext;
  private readonly inFlight = new Map<string, { work: Promise<void>; leases: Leases }>();
  private readonly stopController = new AbortController();
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** A poke landed while the loop was claiming: its claim may have missed the new intent. */
  private poked = false;
  /** The loop waits for a slot: a finished reconcile should wake it, not only a poke or the poll. */
  private waitingForSlot = false;
  private pokeTimer: NodeJS.Timeout | undefined;
  private lastPokeAt = -Infinity;

  constructor(
    readonly deps: EngineDeps,
    options: Partial<EngineOptions> = {},
    owner = `worker-${randomUUID()}`,
  ) {
    this.worker = workerContext(deps, options, owner);
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
    clearTimeout(this.pokeTimer);
    this.wake?.();
    await this.loop;
    await Promise.allSettled([...this.inFlight.values()].map(({ work }) => work));
  }

  /**
   * Reconciles every environment due now, in batches, and waits for them: the
   * CLI's `gc` (reap what is expired now) and tests. Returns how many it took.
   */
  async runDue(): Promise<number> {
    let total = 0;
    for (;;) {
      const keys = await this.claim(this.worker.options.batchSize);
      if (keys.length === 0) return total;
      total += keys.length;
      await Promise.all(keys.map((key) => this.reconcile(key)));
    }
  }

  /**
   * An intent was just recorded, here or (through the store's wakes, see
   * StateStore.subscribeWakes) by another process: look for due work soon
   * instead of at the next idle poll (a PR opened should not wait up to
   * `idlePollMs`). The wake is deferred a little, so the webhook is answered
   * first and a burst folds into one pass, and spaced, so a storm of pushes
   * costs at most a few passes a second. On a store without wakes, intents
   * recorded by other processes are found by the poll.
   *
   * When the environment is being worked on here, its running step looks at
   * once whether teardown now wins (a close), instead of at the next lease
   * renewal.
   */
  poke(key?: EnvKey): void {
    if (key !== undefined) this.inFlight.get(idOf(key))?.leases.watchNow();
    if (this.pokeTimer !== undefined || this.stopController.signal.aborted) return;
    const { pokeDelayMs, pokeSpacingMs } = this.worker.options;
    const delay = Math.max(pokeDelayMs, this.lastPokeAt + pokeSpacingMs - performance.now());
    this.pokeTimer = setTimeout(() => {
      this.pokeTimer = undefined;
      this.lastPokeAt = performance.now();
      this.poked = true;
      this.wake?.();
    }, delay);
    // A pending poke must not keep a stopping process alive.
    this.pokeTimer.unref();
  }

  /** Reconciles one environment now, whether due or not. */
  reconcile(key: EnvKey): Promise<void> {
    const id = idOf(key);
    const running = this.inFlight.get(id);
    if (running) return running.work;
    const leases = new Leases(this.worker, key);
    const work = reconcileEnvironment(this.worker, key, this.stopController.signal, leases).finally(() => {
      this.inFlight.delete(id);
      if (this.waitingForSlot) this.wake?.();
    });
    this.inFlight.set(id, { work, leases });
    return work;
  }

  private claim(limit: number): Promise<EnvKey[]> {
    const { now, options, store } = this.worker;
    return store.claimDue(now(), limit, options.claimHideMs);
  }

  private async runLoop(): Promise<void> {
    const { options, log } = this.worker;
    const stopped = this.stopController.signal;
    while (!stopped.aborted) {
      const free = options.concurrency - this.inFlight.size;
      const limit = Math.min(free, options.batchSize);
      let claimed: EnvKey[] = [];
      this.poked = false;
      try {
        if (limit > 0) claimed = await this.claim(limit);
      } catch (error) {
        log.warn({ err: error }, "could not claim due environments; retrying (is the store reachable?)");
      }
      for (const key of claimed) void this.reconcile(key);
      // With every slot taken more may be due: a finished reconcile wakes the
      // loop. A claim that got fewer than it asked for took all there was, and
      // the loop rests until a poke or the poll; a full batch goes straight on.
      this.waitingForSlot = free - claimed.length <= 0;
      if (claimed.length < limit || this.waitingForSlot) await this.idle();
    }
  }

  /**
   * Waits for a slot to free, a poke, the poll interval to pass, or `stop`. The timer
   * keeps the process alive: a worker with nothing due must not exit.
   */
  private async idle(): Promise<void> {
    if (this.poked) return;
    const poll = new AbortController();
    const woken = new Promise<void>((resolve) => (this.wake = resolve));
    await Promise.race([woken, sleep(this.worker.options.idlePollMs, undefined, { signal: poll.signal }).catch(() => undefined)]);
    poll.abort();
    this.wake = undefined;
  }
}

function idOf(key: EnvKey): string {
  return `${key.repoId}/${key.pr}`;
}
