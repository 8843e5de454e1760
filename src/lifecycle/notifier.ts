import type { EnvFields } from "./state-store.js";
import type { EnvKey, EventLogEntry } from "./environment.js";
import type { StatusOrNew } from "./transitions.js";
import { toIso } from "./ttl.js";

/**
 * The outbound port towards the people watching a PR (sticky comment,
 * deployment statuses, the expiry warning). Lifecycle calls it after every
 * commit that changes what a user sees; the GitHub layer implements it and is
 * expected to coalesce (DESIGN §5): render the latest state, never replay
 * each call. A failing notifier never stops the lifecycle; it is logged.
 */
export interface EnvironmentNotice {
  key: EnvKey;
  /** The environment as just committed. */
  fields: Partial<EnvFields>;
  previousStatus: StatusOrNew;
  /** What this commit recorded, oldest first; see `LifecycleEvent`. */
  events: EventLogEntry[];
}

/**
 * Event names the reconciler writes to the event log. The GitHub layer
 * reacts to a few: `expiry_warning` (one reply on the PR), `deleted` with
 * detail `expired` (say so on the PR), `refresh` (re-render even if nothing
 * changed).
 */
export type LifecycleEvent =
  | "blocked"
  | "held"
  | "queued"
  | "provisioning"
  | "step_started"
  | "step_completed"
  | "step_retry"
  | "failed"
  | "ready"
  | "renewed"
  | "extended"
  | "expiry_warning"
  | "refresh"
  | "teardown_started"
  | "teardown_step"
  | "teardown_retry"
  /** A teardown command ran without secret outputs that could not be unsealed; the detail names them and why. */
  | "teardown_without_secrets"
  | "deleted";

export interface Notifier {
  environmentChanged(notice: EnvironmentNotice): Promise<void>;
}

export function lifecycleEvent(event: LifecycleEvent, now: number, detail?: string): EventLogEntry {
  return detail === undefined ? { at: toIso(now), event } : { at: toIso(now), event, detail };
}

export const silentNotifier: Notifier = { environmentChanged: async () => undefined };
