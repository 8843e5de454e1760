/**
 * DESIGN §5: comment and deployment-status updates of one PR coalesce.
 * GitHub throttles content writes (Probot spaces them seconds apart), so a
 * burst of state changes must not become a burst of edits: an update renders
 * the state as it is when it runs, and every request made meanwhile for the
 * same PR folds into one run.
 *
 * - A request while the key's run is queued replaces it (only the newest
 *   `run` matters: it renders the latest state).
 * - A request while the key's run is running queues exactly one more run,
 *   started after it: the latest state is always rendered, and one PR never
 *   has two updates in flight.
 * - Different keys run independently, at most `concurrency` at a time, in
 *   the order they were requested.
 */

export type UpdateRun = () => Promise<void>;

export interface UpdateCoalescer {
  /** Runs `run` soon, folded with the key's other requests as described above. */
  request(key: string, run: UpdateRun): void;
  /** Resolves once nothing is queued or running, including runs requested meanwhile. */
  drain(): Promise<void>;
}

export interface UpdateCoalescerOptions {
  /** Most keys updating at once; default 4. */
  readonly concurrency?: number;
  /**
   * How long a key's first request waits before its run starts, so the
   * changes of a quick sequence (a step that takes a second) fold into one
   * edit; default 0 (the next microtask).
   */
  readonly delayMs?: number;
  /** A run failed. The next request for the key renders afresh; nothing is retried here. Must not throw. */
  readonly onError: (key: string, error: unknown) => void;
}

interface Slot {
  /** The run to start next, if any. */
  next?: UpdateRun;
  running: boolean;
}

export function createUpdateCoalescer({ concurrency = 4, delayMs = 0, onError }: UpdateCoalescerOptions): UpdateCoalescer {
  const slots = new Map<string, Slot>();
  /** Keys with a `next` run that are not running, oldest request first. */
  const waiting: string[] = [];
  let active = 0;
  let idle: Array<() => void> = [];

  function pump(): void {
    while (active < concurrency && waiting.length > 0) {
      const key = waiting.shift()!;
      void start(key, slots.get(key)!);
    }
    if (slots.size === 0) {
      for (const resolve of idle) resolve();
      idle = [];
    }
  }

  async function start(key: string, slot: Slot): Promise<void> {
    const run = slot.next!;
    slot.next = undefined;
    slot.running = true;
    active++;
    try {
      await run();
    } catch (error) {
      onError(key, error);
    } finally {
      slot.running = false;
      active--;
      if (slot.next) waiting.push(key);
      else slots.delete(key);
      pump();
    }
  }

  return {
    request(key, run) {
      const slot = slots.get(key);
      if (slot) {
        // Queued: replaced by the newer run. Running: the newer run goes next, once.
        slot.next = run;
        return;
      }
      slots.set(key, { next: run, running: false });
      const enqueue = () => {
        waiting.push(key);
        pump();
      };
      // Never inside the caller: requests made in the same tick (or within delayMs) fold into one run.
      if (delayMs > 0) setTimeout(enqueue, delayMs);
      else queueMicrotask(enqueue);
    },
    drain() {
      if (slots.size === 0) return Promise.resolve();
      return new Promise((resolve) => idle.push(resolve));
    },
  };
}
