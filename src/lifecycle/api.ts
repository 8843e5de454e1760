import type { EnvFields, EnvSnapshot, StateStore } from "./state-store.js";
import type { DesiredState } from "./desired.js";
import type { EnvKey, Status } from "./environment.js";
import { foldIntents } from "./fold.js";
import { CLOSE_REASONS, type Intent } from "./intent.js";
import { DEFAULT_TOMBSTONE_RETENTION_MS, toIso } from "./ttl.js";

/**
 * The lifecycle as the GitHub layer and the CLI call it: thin wrappers over
 * the store port and the fold. Writes only ever append an intent (one round
 * trip, safe from a webhook handler); the reconciler does the rest.
 */

/** One environment as people see it: the stored fields and what is wanted, pending intents folded in. */
export interface EnvironmentState {
  key: EnvKey;
  fields: Partial<EnvFields>;
  /** The desired state with the inbox folded in: what the reconciler is about to converge to. */
  desired: DesiredState | undefined;
  pendingIntents: number;
  events: EnvSnapshot["events"];
  dueAt: number | null;
}

/** What `list` returns per environment (the CLI's `list --json` fields). */
export interface EnvironmentSummary {
  repoId: number;
  repo: string;
  pr: number;
  status: Status | "new";
  expiresAt: string | null;
  url: string | null;
}

/**
 * When the environment entered the admission queue (set when it is created,
 * and again when a tombstone comes back); else its oldest logged event (the
 * log keeps the last EVENT_LOG_LIMIT, so for an old environment a lower bound).
 */
export function environmentSince(state: EnvironmentState): string | null {
  const arrivalAt = state.fields.artifacts?.progress?.arrivalAt;
  if (arrivalAt !== undefined) return new Date(arrivalAt).toISOString();
  return state.events[0]?.at ?? null;
}

export interface LifecycleDeps {
  store: StateStore;
  /** Reconciles what is due now; the CLI's `gc` needs it, the webhook handlers do not. */
  reaper?: { runDue(): Promise<number> };
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

  async get(key: EnvKey): Promise<EnvironmentState | null> {
    const snapshot = await this.deps.store.load(key);
    if (snapshot === null) return null;
    const { desired } = foldIntents(snapshot.fields.desired, snapshot.inbox);
    return { key, fields: snapshot.fields, desired, pendingIntents: snapshot.inbox.length, events: snapshot.events, dueAt: snapshot.dueAt };
  }

  /** Every environment of one repository, or of all, oldest repository and PR first. */
  async list(repoId?: number): Promise<EnvironmentSummary[]> {
    const keys = await this.deps.store.listKeys(repoId);
    const summaries: EnvironmentSummary[] = [];
    for (const key of keys) {
      const state = await this.get(key);
      if (state === null) continue;
      const { fields, desired } = state;
      summaries.push({
        repoId: key.repoId,
        repo: fields.config?.repo ?? desired?.repo ?? "",
        pr: key.pr,
        status: fields.status ?? "new",
        expiresAt: fields.expires_at ?? null,
        url: fields.artifacts?.url ?? null,
      });
    }
    return summaries.sort((a, b) => a.repoId - b.repoId || a.pr - b.pr);
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

  /** Reaps what is due now (expired environments among them); returns how many were looked at. */
  async gc(): Promise<number> {
    if (this.deps.reaper === undefined) throw new Error("gc needs a reconciler: construct Lifecycle with `reaper`");
    return this.deps.reaper.runDue();
  }
}
