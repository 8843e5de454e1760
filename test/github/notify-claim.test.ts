import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClaimBusyError, LostClaimError, withNotifyClaim, type NotifyClaimParams } from "../../src/github/notify-claim.js";
import { createRedisStore, type RedisStore } from "../../src/store/redis/redis-store.js";
import { startPrivateRedis, type PrivateRedis } from "../helpers/redis-server.js";
import { waitFor } from "../helpers/wait-for.js";

/**
 * The notifier's claim on a PR: one holder at a time, a waiter that gets it
 * once the holder releases it or dies, and a holder that stalled past its
 * TTL stopped at its next write, its record refused.
 */

let redis: PrivateRedis;
let store: RedisStore;
const shown = { comment: { id: 1, digest: "d" }, deployments: [] };

beforeAll(async () => {
  redis = await startPrivateRedis();
  store = createRedisStore({ url: redis.url, prefix: `claim-${randomUUID().slice(0, 8)}:` });
});
afterAll(async () => {
  await store?.close();
  await redis?.stop();
});

let nextPr = 1;
function claimOf(owner: string, overrides: Partial<NotifyClaimParams> = {}): NotifyClaimParams {
  return { store, key: { repoId: 9, pr: nextPr }, owner, ttlMs: 300, waitMs: 5_000, ...overrides };
}

describe("the notifier's claim on a PR", () => {
  it("lets one replica write at a time: the other waits for the release", async () => {
    nextPr++;
    // Who was refused the claim: proof that the second replica asked, and waits.
    const refused: string[] = [];
    const acquireLease = store.acquireLease.bind(store);
    const watched: RedisStore = Object.assign(Object.create(store) as RedisStore, {
      acquireLease: async (...args: Parameters<RedisStore["acquireLease"]>) => {
        const taken = await acquireLease(...args);
        if (!taken) refused.push(args[2]);
        return taken;
      },
    });
    const order: string[] = [];
    let releaseFirst!: () => void;
    const firstHolds = new Promise<void>((resolve) => (releaseFirst = resolve));
    const first = withNotifyClaim(claimOf("a", { ttlMs: 10_000 }), async (claim) => {
      order.push("a starts");
      await firstHolds;
      await claim.beforeWrite();
      order.push("a ends");
    });
    await waitFor(() => order.includes("a starts"), "a holding the claim");
    const second = withNotifyClaim(claimOf("b", { store: watched }), async () => {
      order.push("b starts");
    });
    // Refused twice: it asked again after a wait, and still did not start.
    await waitFor(() => refused.filter((owner) => owner === "b").length >= 2, "b refused twice");
    expect(order).toEqual(["a starts"]);
    releaseFirst();
    await Promise.all([first, second]);
    expect(order).toEqual(["a starts", "a ends", "b starts"]);
  });

  it("passes to a waiter when its holder dies, and stops the holder, come back, at its next write", async () => {
    nextPr++;
    let stalled!: () => void;
    const resume = new Promise<void>((resolve) => (stalled = resolve));
    const outcome: string[] = [];
    const holder = withNotifyClaim(claimOf("stalling"), async (claim) => {
      await resume; // stalls past its TTL, as a process paused or cut off
      await claim.beforeWrite();
      outcome.push("stalling wrote");
    }).catch((error: unknown) => outcome.push(error instanceof LostClaimError ? "stalling stopped" : String(error)));
    await withNotifyClaim(claimOf("successor"), async (claim) => {
      await claim.record(shown);
      stalled();
      await holder;
    });
    expect(outcome).toEqual(["stalling stopped"]);
  });

  it("refuses the record of a holder whose claim was taken over", async () => {
    nextPr++;
    await expect(
      withNotifyClaim(claimOf("stale"), async (claim) => {
        await sleep(400);
        expect(await store.acquireLease(claimOf("other").key, "notify_lock", "other", 10_000)).toBe(true);
        await claim.record({ deployments: [] });
      }),
    ).rejects.toBeInstanceOf(LostClaimError);
    await store.releaseLease(claimOf("other").key, "notify_lock", "other");
  });

  it("gives up waiting after waitMs", async () => {
    nextPr++;
    expect(await store.acquireLease(claimOf("busy").key, "notify_lock", "busy", 10_000)).toBe(true);
    await expect(withNotifyClaim(claimOf("late", { waitMs: 300 }), async () => undefined)).rejects.toBeInstanceOf(ClaimBusyError);
  });
});
