import { describe, expect, it } from "vitest";
import { retryDelayMs } from "../../src/lifecycle/retry-policy.js";
import { assertTransition, canTransition, IllegalTransitionError } from "../../src/lifecycle/transitions.js";

describe("retry backoff", () => {
  const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1_000, jitter: 0.5 };

  it("doubles per attempt up to the cap, less at most the jitter share", () => {
    expect([1, 2, 3, 4, 5].map((attempt) => retryDelayMs(attempt, policy, () => 0))).toEqual([100, 200, 400, 800, 1_000]);
    expect(retryDelayMs(3, policy, () => 1)).toBe(200);
  });
});

describe("status transitions", () => {
  it("follows pending → queued → provisioning → ready | failed", () => {
    for (const [from, to] of [["new", "pending"], ["pending", "queued"], ["queued", "provisioning"], ["provisioning", "ready"], ["provisioning", "failed"]] as const) {
      expect(canTransition(from, to), `${from} → ${to}`).toBe(true);
    }
  });

  it("re-provisions a ready or failed environment on a push, and revives a tombstone", () => {
    expect(canTransition("ready", "provisioning")).toBe(true);
    expect(canTransition("failed", "provisioning")).toBe(true);
    expect(canTransition("deleted", "pending")).toBe(true);
  });

  it("tears down from any live status and always finishes a teardown", () => {
    for (const from of ["pending", "queued", "provisioning", "ready", "failed"] as const) {
      expect(canTransition(from, "tearing_down")).toBe(true);
    }
    expect(canTransition("tearing_down", "deleted")).toBe(true);
    expect(canTransition("tearing_down", "ready")).toBe(false);
    expect(canTransition("tearing_down", "provisioning")).toBe(false);
  });

  it("refuses what the lifecycle does not have", () => {
    expect(() => assertTransition("deleted", "ready")).toThrow(IllegalTransitionError);
    expect(() => assertTransition("provisioning", "deleted")).toThrow("cannot go from provisioning to deleted");
    expect(() => assertTransition("ready", "ready")).not.toThrow();
  });
});
