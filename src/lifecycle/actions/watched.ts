import { assess } from "../assess.js";
import type { Interruption } from "../commit.js";
import type { ReconcileContext } from "../engine.js";
import { isAbort } from "../errors.js";

type Attempt<T> = { kind: "done"; value: T } | { kind: "failed"; error: unknown } | { kind: "interrupted"; interruption: Interruption };

/**
 * Runs `work` (a step, a readiness check, a teardown action) with a signal
 * that aborts when the lease is lost or the worker stops, and, with
 * `stopForTeardown`, when a close or an expiry makes teardown win (checked
 * at every lease renewal, and at once when this process records an intent).
 * Teardown means "look again" (and tear down); the others stop.
 */
export async function runWatched<T>(ctx: ReconcileContext, options: { stopForTeardown: boolean }, work: (signal: AbortSignal) => Promise<T>): Promise<Attempt<T>> {
  const { leases, stopSignal, key } = ctx;
  const teardown = new AbortController();
  const signal = AbortSignal.any([leases.signal, stopSignal, teardown.signal]);
  const watch = async () => {
    if (!options.stopForTeardown) return;
    const snapshot = await ctx.store.load(key);
    if (snapshot !== null && assess(snapshot, ctx.now()).teardown !== undefined) teardown.abort("teardown");
  };
  try {
    return { kind: "done", value: await leases.watching(watch, () => work(signal)) };
  } catch (error) {
    if (!signal.aborted && !isAbort(error)) return { kind: "failed", error };
    if (teardown.signal.aborted && !leases.signal.aborted && !stopSignal.aborted) {
      ctx.log.info("a close arrived mid-step: stopped the step to tear down");
      return { kind: "interrupted", interruption: { interrupted: "look-again" } };
    }
    return signal.aborted ? { kind: "interrupted", interruption: { interrupted: "stop" } } : { kind: "failed", error };
  }
}
