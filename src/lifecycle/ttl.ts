import type { StatusOrNew } from "./transitions.js";

/**
 * TTL arithmetic (DESIGN §3, §4, §6). Times are milliseconds since the epoch;
 * the store keeps `expires_at` as ISO 8601, converted at the edges.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** How long a `deleted` tombstone stays (DESIGN §3). */
export const DEFAULT_TOMBSTONE_RETENTION_MS = 7 * DAY_MS;
/**
 * How long a live environment's keys outlive `expires_at`: the reaper must
 * have torn it down by then, so state never vanishes before its teardown ran.
 */
export const DEFAULT_STATE_GRACE_MS = DAY_MS;

/** A new environment lives one TTL. */
export function expiryOnCreate(params: { now: number; ttlMs: number }): number {
  return params.now + params.ttlMs;
}

/** A push renews, never shortens: `max(expires_at, now + ttl)`. */
export function expiryOnPush(params: { expiresAt: number; now: number; ttlMs: number }): number {
  return Math.max(params.expiresAt, params.now + params.ttlMs);
}

/** `/preview extend`: adds `byMs`, capped at `maxTtl` from now; never shortens. */
export function extendExpiry(params: { expiresAt: number; byMs: number; now: number; maxTtlMs: number }): number {
  const { expiresAt, byMs, now, maxTtlMs } = params;
  return Math.max(expiresAt, Math.min(expiresAt + byMs, now + maxTtlMs));
}

/** Store TTL for a live environment's keys: until its expiry plus the grace. */
export function liveKeyTtlMs(params: { expiresAt: number; now: number; graceMs: number }): number {
  return Math.max(0, params.expiresAt - params.now) + params.graceMs;
}

/** When to warn about an expiry, unless that expiry was warned about already. */
export function warningDueAt(params: { expiresAt: number; warnBeforeMs: number; warnedFor: string | undefined }): number | undefined {
  if (params.warnedFor !== undefined && Date.parse(params.warnedFor) === params.expiresAt) return undefined;
  return params.expiresAt - params.warnBeforeMs;
}

export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * The store TTL of an environment's keys after a commit: a tombstone's (or
 * a record that never had an expiry) is the retention; a live one's lasts
 * until its expiry plus the grace.
 */
export function keyTtlMs(params: { status: StatusOrNew; expiresAt: number | undefined; now: number; graceMs: number; tombstoneRetentionMs: number }): number {
  const { status, expiresAt } = params;
  if (status === "deleted" || expiresAt === undefined) return params.tombstoneRetentionMs;
  return liveKeyTtlMs({ expiresAt, now: params.now, graceMs: params.graceMs });
}
