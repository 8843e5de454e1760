import type { EngineOptions } from "./engine.js";
import type { Iteration, Next } from "./iteration.js";
import { lifecycleEvent } from "./notifier.js";
import type { EnvSettings } from "./settings.js";
import { baseFields, type SetupBase } from "./setup-base.js";
import { expiryOnCreate } from "./ttl.js";

/** As many as a release wakes (StateStore.releaseAdmission). */
const FAST_RECHECK_POSITIONS = 10;

/**
 * Admission (DESIGN §7, limits): before anything is made an environment
 * takes a place in the active set, or waits `queued` with its position; a
 * place is given back when its teardown ends, and the first waiters are woken.
 */

/** Takes a place in the active set, or waits `queued` with its position (woken when a place frees). */
export async function admit(it: Iteration, base: SetupBase, settings: EnvSettings): Promise<Next> {
  const { store } = it.engine.deps;
  const now = it.engine.now();
  const arrivalAt = base.progress.arrivalAt ?? now;
  const admission = await store.admit(it.run.key, arrivalAt, settings.limits);
  if (admission.admitted) {
    const created = { ...base, expiresAt: expiryOnCreate({ now, ttlMs: settings.ttlMs }) };
    await it.commit({
      set: { ...baseFields(created, { artifacts: { blocked: undefined, queuePosition: undefined }, progress: { arrivalAt } }), status: "provisioning" },
      events: [lifecycleEvent("provisioning", now)],
      dueAt: it.workingDueAt(),
      keyTtlMs: it.liveTtl(created.expiresAt),
    });
    return "again";
  }
  const moved = base.artifacts.queuePosition !== admission.position;
  await it.commit({
    set: { ...baseFields(base, { artifacts: { blocked: undefined, queuePosition: admission.position }, progress: { arrivalAt } }), status: "queued" },
    events: moved ? [lifecycleEvent("queued", now, `position ${admission.position}`)] : [],
    dueAt: now + queuedRecheckMs(admission.position, it.engine.options),
    keyTtlMs: it.liveTtl(base.expiresAt),
  });
  return "settled";
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
export async function releasePlace(it: Iteration): Promise<void> {
  const { store } = it.engine.deps;
  const waiters = await store.releaseAdmission(it.run.key);
  const now = it.engine.now();
  for (const waiter of waiters) await store.markDue(waiter, now);
}
