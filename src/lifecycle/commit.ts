import type { EnvFields, EnvSnapshot, Fence } from "./state-store.js";
import type { Assessment } from "./assess.js";
import type { ReconcileContext } from "./engine.js";
import type { EventLogEntry } from "./environment.js";
import { FencedError } from "./errors.js";
import { assertTransition, type StatusOrNew } from "./transitions.js";
import { keyTtlMs } from "./ttl.js";

/**
 * What carrying out an action comes to: the fields it sets, the events it
 * logs, and when to look at the environment again — "now" (the worker goes
 * straight on; should it die first, once its lease ran out), at a time, or
 * null: not until an intent arrives.
 */
export interface Result {
  set?: Partial<EnvFields>;
  events?: EventLogEntry[];
  requeueAt: number | "now" | null;
}

/**
 * One round of a reconcile pass: a loaded snapshot, as assessed, and the commits made on top of
 * it — the one place a Result becomes a store commit. The first commit also
 * removes the inbox entries the assessment folded, with the events they
 * caused, so an `extend` is applied exactly once. Every status change is
 * checked against the lifecycle's transitions, every commit's key TTL
 * follows from its status and expiry and its due time from `requeueAt`, and
 * every commit that records an event is passed to the notifier.
 */
export class Round {
  /** The fields as committed so far. */
  fields: Partial<EnvFields>;
  private unconsumed: number;
  private unrecorded: EventLogEntry[];
  /** `teardown_lock` once a teardown holds it: its commits are fenced by that. */
  private fence: Fence;

  constructor(
    private readonly ctx: ReconcileContext,
    snapshot: EnvSnapshot,
    readonly assessment: Assessment,
  ) {
    this.fields = snapshot.fields;
    this.unconsumed = assessment.consumed;
    this.unrecorded = [...assessment.events];
    this.fence = { name: "lease", owner: ctx.owner };
  }

  get status(): StatusOrNew {
    return this.fields.status ?? "new";
  }

  /** Takes `teardown_lock` for the rest of the round (false: another worker holds it); `end` gives it back. */
  async lockForTeardown(): Promise<boolean> {
    if (!(await this.ctx.leases.acquire("teardown_lock"))) return false;
    this.fence = { name: "teardown_lock", owner: this.ctx.owner };
    return true;
  }

  async end(): Promise<void> {
    if (this.fence.name === "teardown_lock") await this.ctx.leases.release("teardown_lock");
  }

  async commit(result: Result): Promise<void> {
    const { store, notifier, options, key } = this.ctx;
    const now = this.ctx.now();
    const previousStatus = this.status;
    const { set } = result;
    if (set?.status !== undefined) assertTransition(previousStatus, set.status);
    const events = [...this.unrecorded, ...(result.events ?? [])];
    const change = {
      set,
      consumed: this.unconsumed,
      events,
      dueAt: result.requeueAt === "now" ? now + options.leaseTtlMs : result.requeueAt,
      keyTtlMs: keyTtlMs({
        status: set?.status ?? previousStatus,
        // A setup commit writes the expiry; the others keep the one this round assessed.
        expiresAt: set?.expires_at === undefined ? this.assessment.expiresAt : Date.parse(set.expires_at),
        now,
        graceMs: options.stateGraceMs,
        tombstoneRetentionMs: options.tombstoneRetentionMs,
      }),
    };
    if ((await store.commit(key, this.fence, change)) === "fenced") throw new FencedError("committing");
    this.unconsumed = 0;
    this.unrecorded = [];
    this.fields = { ...this.fields, ...set };
    if (events.length === 0) return;
    try {
      await notifier.environmentChanged({ key, fields: this.fields, previousStatus, events });
    } catch (error) {
      this.ctx.log.warn({ err: error }, "could not tell the PR about a change; the next change will show it");
    }
  }
}

/**
 * An action that did not come to a result: teardown now wins (a close
 * arrived mid-step: look again at once), or the work stops (the lease was
 * lost, the worker stops, or another worker holds the teardown: then due
 * again at `requeueAt`).
 */
export type Interruption = { interrupted: "look-again" } | { interrupted: "stop"; requeueAt?: number };

export type Outcome = Result | Interruption;
