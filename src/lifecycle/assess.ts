import type { EnvSnapshot } from "./state-store.js";
import type { DesiredState } from "./desired.js";
import type { EventLogEntry } from "./environment.js";
import { foldIntents } from "./fold.js";
import { headCleared } from "./gates.js";
import { lifecycleEvent } from "./notifier.js";
import { teardownCause, type TeardownCause } from "./plan.js";
import type { StatusOrNew } from "./transitions.js";
import { expiryOnPush, extendExpiry, toIso } from "./ttl.js";

/**
 * One look at a loaded environment: the inbox folded into the desired state,
 * the expiry renewed by pushes and extended by `/preview extend`, and whether
 * it must be torn down. Pure; the reconciler and its mid-step watcher both
 * use it, so they never disagree about what a close means.
 */
export interface Assessment {
  status: StatusOrNew;
  desired: DesiredState | undefined;
  /** ms; undefined before the environment was ever created. */
  expiresAt: number | undefined;
  /** What changed the expiry, for the event log. */
  events: EventLogEntry[];
  /** Someone asked to see the state again. */
  refresh: boolean;
  teardown: TeardownCause | undefined;
  /** How many inbox entries this folded: the commit that writes the result consumes them. */
  consumed: number;
}

export function assess(snapshot: Pick<EnvSnapshot, "fields" | "inbox">, now: number): Assessment {
  const { fields, inbox } = snapshot;
  const status: StatusOrNew = fields.status ?? "new";
  const { desired, extensions, refresh } = foldIntents(fields.desired, inbox);
  let expiresAt = fields.expires_at === undefined ? undefined : Date.parse(fields.expires_at);
  const events: EventLogEntry[] = [];
  const config = fields.config;
  const live = status !== "new" && status !== "deleted" && status !== "tearing_down";
  if (live && desired?.open && config !== undefined && expiresAt !== undefined) {
    // A fork head no approval covers renews nothing (DESIGN §4).
    if (desired.headSha !== fields.desired?.headSha && headCleared(desired, config.forks ?? "approve")) {
      expiresAt = expiryOnPush({ expiresAt, now, ttlMs: config.ttlMs });
      events.push(lifecycleEvent("renewed", now, `push ${desired.headSha.slice(0, 7)}: expires ${toIso(expiresAt)}`));
    }
    for (const byMs of extensions) {
      expiresAt = extendExpiry({ expiresAt, byMs: byMs ?? config.ttlMs, now, maxTtlMs: config.maxTtlMs ?? config.ttlMs });
      events.push(lifecycleEvent("extended", now, `expires ${toIso(expiresAt)}`));
    }
  }
  return {
    status,
    desired,
    expiresAt,
    events,
    refresh,
    teardown: teardownCause({ status, desired, expiresAt, now }),
    consumed: inbox.length,
  };
}
