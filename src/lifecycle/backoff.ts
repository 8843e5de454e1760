/**
 * Exponential backoff with jitter for failing steps: attempt n waits
 * `base · 2^(n-1)`, capped, less a random share so replicas that failed
 * together do not retry together.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included, before the environment is `failed`. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Share of the delay that is random, 0..1. */
  jitter: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 5_000, maxDelayMs: 300_000, jitter: 0.5 };

/** Delay before attempt `attempt + 1`, after `attempt` failures (1-based). */
export function retryDelayMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential * (1 - policy.jitter * random()));
}
