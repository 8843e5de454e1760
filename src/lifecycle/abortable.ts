import { assess } from "./assess.js";
import { isAbort } from "./errors.js";
import type { Iteration, Next } from "./iteration.js";

export type Attempt<T> = { kind: "done"; value: T } | { kind: "failed"; error: unknown } | { kind: "stopped"; next: Next };

/**
 * Runs `work` with a signal that aborts when the lease is lost or the worker
 * stops, and, with `stopForTeardown`, when a close or an expiry makes
 * teardown win (checked at every lease renewal). Teardown means "look again"
 * (and tear down); the others stop.
 */
export async function abortable<T>(it: Iteration, options: { stopForTeardown: boolean }, work: (signal: AbortSignal) => Promise<T>): Promise<Attempt<T>> {
  const { leases, stopSignal, key } = it.run;
  const teardown = new AbortController();
  const signal = AbortSignal.any([leases.signal, stopSignal, teardown.signal]);
  const watch = async () => {
    if (!options.stopForTeardown) return;
    const snapshot = await it.engine.deps.store.load(key);
    if (snapshot !== null && assess(snapshot, it.engine.now()).teardown !== undefined) teardown.abort("teardown");
  };
  try {
    return { kind: "done", value: await leases.watching(watch, () => work(signal)) };
  } catch (error) {
    if (!signal.aborted && !isAbort(error)) return { kind: "failed", error };
    if (teardown.signal.aborted && !leases.signal.aborted && !stopSignal.aborted) {
      it.run.log.info("a close arrived mid-step: stopped the step to tear down");
      return { kind: "stopped", next: "again" };
    }
    return signal.aborted ? { kind: "stopped", next: "stop" } : { kind: "failed", error };
  }
}
