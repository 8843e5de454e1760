import type { Result } from "../commit.js";
import type { EngineOptions, ReconcileContext } from "../engine.js";
import { lifecycleEvent } from "../notifier.js";
import type { SetupAction } from "../plan.js";
import { baseFields } from "../setup-base.js";
import { expiryOnCreate } from "../ttl.js";

/** As many as a release wakes (StateStore.releaseAdmission). */
const FAST_RECHECK_POSITIONS = 10;

/**
 * Admission (DESIGN §7, limits): before anything is made an environment
 * takes a place in the active set, or waits `queued` with its position; a
 * place is given back when its teardown ends, and the first waiters are woken.
 */

/** Takes a place in the active set, or waits `queued` with its position (woken when a place frees). */
export async function admit(ctx: ReconcileContext, action: SetupAction): Promise<Result> {
  const { base, settings } = action;
  const now = ctx.now();
  const arrivalAt = base.progress.arrivalAt ?? now;
  const admission = await ctx.store.admit(ctx.key, arrivalAt, settings.limits);
  if (admission.admitted) {
    const created = { ...base, expiresAt: expiryOnCreate({ now, ttlMs: settings.ttlMs }) };
    return {
      set: { ...baseFields(created, { artifacts: { blocked: undefined, queuePosition: undefined }, progress: { arrivalAt } }), status: "provisioning" },
      events: [lifecycleEvent("provisioning", now)],
      requeueAt: "now",
    };
  }
  const moved = base.artifacts.queuePosition !== admission.position;
  return {
    set: { ...baseFields(base, { artifacts: { blocked: undefined, queuePosition: admission.position }, progress: { arrivalAt } }), status: "queued" },
    events: moved ? [lifecycleEvent("queued", now, `position ${admission.position}`)] : [],
    requeueAt: now + queuedRecheckMs(admission.position, ctx.options),
  };
}

/**
 * Admission is first come, first served: a waiter gets in only once every
 * earlier one did, so freed places are taken one after the other down the
 * queue. The first few ask again soon, the nearer the front the sooner; the
 * rest wait for the poll, or for a release to wake them, so a long queue does
 * not flood the workers with retries.
 */
function queuedRecheckMs(position: number, options: Pick<EngineOptions, "busyRetryMs" | "queuePollMs">): number {
  return position <= FAST_RECHECK_POSITIONS ? Math.min(options.queuePollMs, options.busyRetryMs * position) : options.queuePollMs;
}

/** Leaves the active set (or the queue) and wakes the first waiters so they take the place now. */
export async function releasePlace(ctx: ReconcileContext): Promise<void> {
  const waiters = await ctx.store.releaseAdmission(ctx.key);
  const now = ctx.now();
  for (const waiter of waiters) await ctx.store.markDue(waiter, now);
}
