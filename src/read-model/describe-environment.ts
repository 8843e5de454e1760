import type { EnvironmentState } from "../lifecycle/api.js";
import type { EnvKey } from "../lifecycle/environment.js";
import { foldIntents } from "../lifecycle/fold.js";
import type { Intent } from "../lifecycle/intent.js";
import type { Shown } from "../lifecycle/shown.js";
import type { EnvSnapshot, StateStore } from "../lifecycle/state-store.js";

/**
 * The read model: what the CLI, the admin API and the dashboard show of the
 * store, each view from one pass over it (one `load` per environment), so
 * those only render. It reads through the lifecycle's store port and depends
 * on nothing else outside the domain.
 */

/** The two reads of the store port the views need. */
export type EnvironmentReader = Pick<StateStore, "listKeys" | "load">;

/** One environment as people see it: its state with the inbox folded in, and what only `inspect` shows. */
export interface EnvironmentView extends EnvironmentState {
  /** The intents not yet folded, oldest first (`pendingIntents` of them). */
  inbox: Intent[];
  /** Where the PR shows it, as the notifier recorded it; undefined when never. */
  shown: Shown | undefined;
}

/** One environment, from one load; null when no key of it exists. */
export async function describeEnvironment(store: EnvironmentReader, key: EnvKey): Promise<EnvironmentView | null> {
  const snapshot = await store.load(key);
  return snapshot === null ? null : viewOf(snapshot);
}

/** The repository's name as the environment's config, or else its desired state, last saw it; "" when not known yet. */
export function repoNameOf(state: Pick<EnvironmentState, "fields" | "desired">): string {
  return state.fields.config?.repo ?? state.desired?.repo ?? "";
}

export function viewOf(snapshot: EnvSnapshot): EnvironmentView {
  const { key, fields, inbox, events, dueAt, shown } = snapshot;
  const { desired } = foldIntents(fields.desired, inbox);
  return { key, fields, desired, pendingIntents: inbox.length, events, dueAt, inbox, shown };
}
