import type { StateStore } from "../lifecycle/state-store.js";
import type { Metrics } from "./registry.js";

/**
 * A StateStore decorator that times every call and counts the ones that
 * reject, by method name, then passes the result or the error on
 * unchanged. A Proxy rather than a hand-written wrapper per method: every
 * method of the port (and any added later) is covered, with nothing to
 * keep in step. Properties that are not methods (`kind`) pass through.
 * Typed as the port, whose methods are all async: an adapter's own
 * synchronous extras (`sweep`) are not reachable through it.
 */
export function instrumentStore(store: StateStore, metrics: Pick<Metrics, "storeErrors" | "storeDuration">): StateStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || typeof property !== "string") return value;
      return async (...args: unknown[]) => {
        const stop = metrics.storeDuration.startTimer({ operation: property });
        try {
          return await value.apply(target, args);
        } catch (error) {
          metrics.storeErrors.inc({ operation: property });
          throw error;
        } finally {
          stop();
        }
      };
    },
  });
}
