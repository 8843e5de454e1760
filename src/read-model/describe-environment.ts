import type { DesiredState } from "../lifecycle/desired.js";
import type { EnvKey } from "../lifecycle/environment.js";
import { foldIntents } from "../lifecycle/fold.js";
import type { Intent } from "../lifecycle/intent.js";
import type { Shown } from "../lifecycle/shown.js";
import type { EnvFields, EnvSnapshot, StateStore } from "../lifecycle/state-store.js";

/**
 * The read model: what the CLI, the admin API and the dashboard show of the
 * store, each view from one pass over it (one `load` per environment), so
 * those only render. It reads through the lifecycle's store port and depends
 * on nothing else outside the domain.
 */

/** The two reads of the store port the views need. */
export type EnvironmentReader = Pick<StateStore, "listKeys" | "load">;

/** One environment as people see it: the stored fields and what is wanted, pending intents folded in. */
export interface EnvironmentView {
  key: EnvKey;
  fields: Partial<EnvFields>;
  /** The desired state with the inbox folded in: what the reconciler is about to converge to. */
  desired: DesiredState | undefined;
  pendingIntents: number;
  events: EnvSnapshot["events"];
  dueAt: number | null;
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
export function repoNameOf(state: Pick<EnvironmentView, "fields" | "desired">): string {
  return state.fields.config?.repo ?? state.desired?.repo ?? "";
}

function viewOf(snapshot: EnvSnapshot): EnvironmentView {
  const { key, fields, inbox, events, dueAt, shown } = snapshot;
  const { desired } = foldIntents(fields.desired, inbox);
  return { key, fields, desired, pendingIntents: inbox.length, events, dueAt, inbox, shown };
}

/**
 * When the environment entered the admission queue (set when it is created,
 * and again when a tombstone comes back); else its oldest logged event (the
 * log keeps the last EVENT_LOG_LIMIT, so for an old environment a lower bound).
 */
export function environmentSince(view: Pick<EnvironmentView, "fields" | "events">): string | null {
  const arrivalAt = view.fields.artifacts?.progress?.arrivalAt;
  if (arrivalAt !== undefined) return new Date(arrivalAt).toISOString();
  return view.events[0]?.at ?? null;
}
