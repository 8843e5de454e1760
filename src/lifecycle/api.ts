import type { StateStore } from "./state-store.js";
import type { EnvKey } from "./environment.js";
import { CLOSE_REASONS, type Intent } from "./intent.js";
import { DEFAULT_TOMBSTONE_RETENTION_MS, toIso } from "./ttl.js";

/**
 * The lifecycle as the GitHub layer and the CLI change it: every write only
 * appends an intent (one round trip, safe from a webhook handler); the
 * reconciler does the rest. Reading is the read model's (src/read-model).
 */

export interface LifecycleDeps {
  store: StateStore;
  now?: () => number;
  /** How long a delivery id is remembered (and the inbox's store TTL); default: the tombstone retention. */
  intentTtlMs?: number;
  /** Told of every intent recorded (not of duplicates): the server pokes its reconciler. */
  onRecorded?: (key: EnvKey) => void;
}

export class Lifecycle {
  private readonly now: () => number;

  constructor(private readonly deps: LifecycleDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Records an intent; a repeated delivery id changes nothing and returns "duplicate". */
  async record(key: EnvKey, intent: Intent, deliveryId?: string): Promise<"recorded" | "duplicate"> {
    const keyTtlMs = this.deps.intentTtlMs ?? DEFAULT_TOMBSTONE_RETENTION_MS;
    const outcome = await this.deps.store.recordIntent(key, intent, deliveryId === undefined ? { keyTtlMs } : { deliveryId, keyTtlMs });
    if (outcome === "recorded") this.deps.onRecorded?.(key);
    return outcome;
  }

  /** `/preview extend [d]`, CLI `extend`: by `byMs`, or the template TTL; capped at maxTtl from now. */
  extend(key: EnvKey, params: { actor: string; byMs?: number; deliveryId?: string }): Promise<"recorded" | "duplicate"> {
    const intent: Intent = { type: "extend", at: toIso(this.now()), actor: params.actor, ...(params.byMs !== undefined && { byMs: params.byMs }) };
    return this.record(key, intent, params.deliveryId);
  }

  /** `/preview destroy`, CLI `teardown`: tear down now (a later open or deploy may bring it back). */
  requestTeardown(key: EnvKey, params: { reason?: string; deliveryId?: string } = {}): Promise<"recorded" | "duplicate"> {
    const intent: Intent = { type: "close", at: toIso(this.now()), reason: params.reason ?? CLOSE_REASONS.operator };
    return this.record(key, intent, params.deliveryId);
  }

  /** `/preview redeploy`: every setup step runs again for the head sha. */
  redeploy(key: EnvKey, params: { actor: string; deliveryId?: string }): Promise<"recorded" | "duplicate"> {
    return this.record(key, { type: "redeploy", at: toIso(this.now()), actor: params.actor }, params.deliveryId);
  }
}
