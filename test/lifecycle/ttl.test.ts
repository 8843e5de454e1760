import { describe, expect, it } from "vitest";
import { expiryOnCreate, expiryOnPush, extendExpiry, liveKeyTtlMs, toIso, warningDueAt } from "../../src/lifecycle/ttl.js";

const HOUR = 3_600_000;
const now = Date.UTC(2026, 0, 1);

describe("TTL arithmetic", () => {
  it("creates with one TTL and renews on push without ever shortening", () => {
    expect(expiryOnCreate({ now, ttlMs: 4 * HOUR })).toBe(now + 4 * HOUR);
    expect(expiryOnPush({ expiresAt: now + HOUR, now, ttlMs: 4 * HOUR })).toBe(now + 4 * HOUR);
    expect(expiryOnPush({ expiresAt: now + 9 * HOUR, now, ttlMs: 4 * HOUR })).toBe(now + 9 * HOUR);
  });

  it("extends by the amount asked, capped at maxTtl from now, never shortening", () => {
    expect(extendExpiry({ expiresAt: now + HOUR, byMs: 2 * HOUR, now, maxTtlMs: 24 * HOUR })).toBe(now + 3 * HOUR);
    expect(extendExpiry({ expiresAt: now + 20 * HOUR, byMs: 10 * HOUR, now, maxTtlMs: 24 * HOUR })).toBe(now + 24 * HOUR);
    expect(extendExpiry({ expiresAt: now + 30 * HOUR, byMs: HOUR, now, maxTtlMs: 24 * HOUR })).toBe(now + 30 * HOUR);
  });

  it("keeps a live environment's keys until its expiry plus a grace, so teardown always finds its state", () => {
    expect(liveKeyTtlMs({ expiresAt: now + HOUR, now, graceMs: 5 * HOUR })).toBe(6 * HOUR);
    expect(liveKeyTtlMs({ expiresAt: now - HOUR, now, graceMs: 5 * HOUR })).toBe(5 * HOUR);
  });

  it("warns once per expiry time", () => {
    const expiresAt = now + 5 * HOUR;
    expect(warningDueAt({ expiresAt, warnBeforeMs: HOUR, warnedFor: undefined })).toBe(now + 4 * HOUR);
    expect(warningDueAt({ expiresAt, warnBeforeMs: HOUR, warnedFor: toIso(expiresAt) })).toBeUndefined();
    expect(warningDueAt({ expiresAt: expiresAt + HOUR, warnBeforeMs: HOUR, warnedFor: toIso(expiresAt) })).toBe(now + 5 * HOUR);
  });
});
