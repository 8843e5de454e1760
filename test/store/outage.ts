import { expect } from "vitest";
import type { StateStore } from "../../src/lifecycle/state-store.js";

const HOUR = 3_600_000;

/**
 * What the store does while every Redis process it reaches is down: calls
 * fail within two seconds (none waits for Redis to return), and once it is
 * back, the store works again by itself, scripts reloaded.
 */
export async function expectFailsFastAndRecovers(store: StateStore, redis: { kill(): Promise<void>; start(): Promise<void> }): Promise<void> {
  const key = { repoId: 31, pr: 1 };
  const refresh = () => ({ type: "refresh" as const, at: new Date().toISOString() });
  await store.ping();
  await redis.kill();

  for (const call of [() => store.ping(), () => store.load(key), () => store.recordIntent(key, refresh(), { keyTtlMs: HOUR })]) {
    const started = Date.now();
    await expect(call()).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(2000);
  }

  await redis.start();
  await expect.poll(() => store.ping().then(() => true, () => false), { timeout: 10_000, interval: 200 }).toBe(true);
  await expect.poll(() => store.recordIntent(key, refresh(), { keyTtlMs: HOUR }).then((outcome) => outcome, () => "failed"), { timeout: 10_000, interval: 200 }).toBe("recorded");
}
