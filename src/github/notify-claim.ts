import { setTimeout as sleep } from "node:timers/promises";
import type { EnvKey } from "../lifecycle/environment.js";
import type { Shown } from "../lifecycle/shown.js";
import type { Fence, StateStore } from "../lifecycle/state-store.js";

/**
 * One writer per PR on GitHub (issue 11): every write to a PR's comment and
 * deployments happens under the environment's `notify_lock`, a lease of the
 * notifier's own, so two replicas never write one PR at once. The claim is
 * renewed before each GitHub write, and what was learnt is recorded fenced
 * by it: a replica that lost the claim (it stalled past the TTL and another
 * took over) stops at its next write instead of racing its successor.
 */
export interface NotifyClaim {
  /** Call before every GitHub write: extends the claim, or throws `LostClaimError`. */
  beforeWrite(): Promise<void>;
  /** Records where the PR shows the environment, fenced by the claim; throws `LostClaimError` when fenced. */
  record(shown: Shown): Promise<void>;
}

export interface NotifyClaimParams {
  store: StateStore;
  key: EnvKey;
  /** This process's token, unique among replicas. */
  owner: string;
  /** How long the claim lasts unrenewed: longer than any one GitHub request may take. */
  ttlMs: number;
  /** How long to wait for another replica's claim to end (its release, or its expiry when it died). */
  waitMs: number;
}

/** Another replica took the claim over: this one must not write to the PR any more. */
export class LostClaimError extends Error {
  override readonly name = "LostClaimError";
}

/** Another replica held the claim for longer than `waitMs`. */
export class ClaimBusyError extends Error {
  override readonly name = "ClaimBusyError";
}

/** How often a waiting replica asks again; jittered so waiters do not ask in step. */
const POLL_MS = 100;

/** Runs `work` holding the PR's notify claim, and gives the claim up after (even when `work` fails). */
export async function withNotifyClaim<T>(params: NotifyClaimParams, work: (claim: NotifyClaim) => Promise<T>): Promise<T> {
  const { store, key, owner, ttlMs } = params;
  const fence: Fence = { name: "notify_lock", owner };
  await acquire(params);
  const claim: NotifyClaim = {
    async beforeWrite() {
      if (!(await store.renewLease(key, fence.name, owner, ttlMs))) throw new LostClaimError("another replica now writes this PR");
    },
    async record(shown) {
      if ((await store.recordShown(key, fence, shown)) === "fenced") throw new LostClaimError("another replica now writes this PR");
    },
  };
  try {
    return await work(claim);
  } finally {
    await store.releaseLease(key, fence.name, owner);
  }
}

async function acquire({ store, key, owner, ttlMs, waitMs }: NotifyClaimParams): Promise<void> {
  const deadline = Date.now() + waitMs;
  while (!(await store.acquireLease(key, "notify_lock", owner, ttlMs))) {
    if (Date.now() >= deadline) throw new ClaimBusyError(`another replica held the PR's updates for more than ${waitMs} ms`);
    await sleep(POLL_MS / 2 + Math.random() * POLL_MS);
  }
}
