import type { StateStore } from "../store/state-store.js";
import type { EnvKey } from "./environment.js";

/**
 * Whether an environment may own resources now or soon: anything but a
 * tombstone, and a tombstone with intents waiting (a reopen about to
 * recreate it). The orphan audit removes only what no environment claims.
 */
export function liveEnvironmentClaims(store: Pick<StateStore, "load">): (env: EnvKey) => Promise<boolean> {
  return async (env) => {
    const snapshot = await store.load(env);
    if (snapshot === null) return false;
    return snapshot.fields.status !== "deleted" || snapshot.inbox.length > 0;
  };
}
