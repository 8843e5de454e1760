import type { Logger } from "pino";
import type { EnvFields, EnvSnapshot, Fence } from "./state-store.js";
import type { Assessment } from "./assess.js";
import type { Engine } from "./engine.js";
import type { Artifacts, EnvKey, EventLogEntry } from "./environment.js";
import { FencedError } from "./errors.js";
import type { Leases } from "./leases.js";
import { assertTransition, type StatusOrNew } from "./transitions.js";
import { liveKeyTtlMs } from "./ttl.js";

/** What one worker has while it reconciles one environment. */
export interface EnvRun {
  readonly engine: Engine;
  readonly key: EnvKey;
  readonly leases: Leases;
  readonly log: Logger;
  /** Aborted when the worker stops. */
  readonly stopSignal: AbortSignal;
}

/** What the reconciler does after an iteration: look again at once, rest until due, or stop (lease lost, shutting down). */
export type Next = "again" | "settled" | "stop";

export interface CommitParams {
  set?: Partial<EnvFields>;
  events?: EventLogEntry[];
  dueAt: number | null;
  keyTtlMs: number;
}

/**
 * One loaded snapshot and what the worker commits on top of it. The first
 * commit also removes the inbox entries the assessment folded, with the
 * events they caused, so an `extend` is applied exactly once. Every status
 * change is checked against the lifecycle's transitions, and every commit
 * that records an event is passed to the notifier.
 */
export class Iteration {
  /** The fields as committed so far. */
  fields: Partial<EnvFields>;
  private unconsumed: number;
  private unrecorded: EventLogEntry[];
  /** `teardown_lock` once a teardown holds it: its commits are fenced by that. */
  fence: Fence;

  constructor(
    readonly run: EnvRun,
    readonly snapshot: EnvSnapshot,
    readonly assessment: Assessment,
  ) {
    this.fields = snapshot.fields;
    this.unconsumed = assessment.consumed;
    this.unrecorded = [...assessment.events];
    this.fence = { name: "lease", owner: run.engine.owner };
  }

  get engine(): Engine {
    return this.run.engine;
  }

  get status(): StatusOrNew {
    return this.fields.status ?? "new";
  }

  async commit(params: CommitParams): Promise<void> {
    const { store, notifier } = this.engine.deps;
    const previousStatus = this.status;
    if (params.set?.status !== undefined) assertTransition(previousStatus, params.set.status);
    const events = [...this.unrecorded, ...(params.events ?? [])];
    const set = params.set;
    const change = { set, consumed: this.unconsumed, events, dueAt: params.dueAt, keyTtlMs: params.keyTtlMs };
    if ((await store.commit(this.run.key, this.fence, change)) === "fenced") throw new FencedError("committing");
    this.unconsumed = 0;
    this.unrecorded = [];
    this.fields = { ...this.fields, ...set };
    if (events.length === 0) return;
    try {
      await notifier.environmentChanged({ key: this.run.key, fields: this.fields, previousStatus, events });
    } catch (error) {
      this.run.log.warn({ err: error }, "could not tell the PR about a change; the next change will show it");
    }
  }

  /** Store TTL for a live environment expiring at `expiresAt`. */
  liveTtl(expiresAt: number): number {
    return liveKeyTtlMs({ expiresAt, now: this.engine.now(), graceMs: this.engine.options.stateGraceMs });
  }

  /** Due again if this worker dies mid-work: once its lease has run out. */
  workingDueAt(): number {
    return this.engine.now() + this.engine.options.leaseTtlMs;
  }
}
