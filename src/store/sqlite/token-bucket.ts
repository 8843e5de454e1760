import { z } from "zod";
import type { TokenBucketLimit } from "../../lifecycle/state-store.js";

/** A bucket as kept in a `kv` row: tokens left (negative: owed) and the ms of the last take. */
const bucketSchema = z.object({ tokens: z.number(), at: z.number() });
export type BucketState = z.infer<typeof bucketSchema>;

/** A stored bucket, or undefined for one missing or unreadable (it starts full again: the worst is one burst). */
export function readBucket(value: string | undefined): BucketState | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = bucketSchema.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One take, as the Redis script take-token-1.lua does it: refill for the
 * time since the last take (never for a clock that went back), take one
 * token on credit if need be, and say how long to wait and how long the row
 * must live (until the bucket would be full again).
 */
export function takeFrom(state: BucketState | undefined, limit: TokenBucketLimit, now: number): { next: BucketState; waitMs: number; ttlMs: number } {
  const perMs = limit.perSecond / 1000;
  let { tokens, at } = state ?? { tokens: limit.burst, at: now };
  if (now > at) {
    tokens = Math.min(limit.burst, tokens + (now - at) * perMs);
    at = now;
  }
  tokens -= 1;
  const waitMs = tokens >= 0 ? 0 : Math.ceil(at - now - tokens / perMs);
  return { next: { tokens, at }, waitMs, ttlMs: Math.ceil((limit.burst - tokens) / perMs) + 1000 };
}
