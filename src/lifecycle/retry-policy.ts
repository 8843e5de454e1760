/**
 * The one retry policy of the engine: what a failure costs, whatever failed.
 * A failing setup step or teardown action waits an exponential backoff with
 * jitter (attempt n waits `base · 2^(n-1)`, capped, less a random share so
 * replicas that failed together do not retry together); a setup step gives
 * up after `maxAttempts` (or at once on a terminal error) and the
 * environment is `failed`, while a teardown action never does (giving up
 * would leak). Anything else that fails a pass (the store or GitHub
 * unreachable) is looked at again after a flat `errorRetryMs`. Pure.
 */

/** How failing steps and teardown actions are retried (the operator's `retry` option). */
export interface Backoff {
  /** Attempts in all, the first included, before a setup step gives up. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Share of the delay that is random, 0..1. */
  jitter: number;
}

export const DEFAULT_BACKOFF: Backoff = { maxAttempts: 4, baseDelayMs: 5_000, maxDelayMs: 300_000, jitter: 0.5 };
export const DEFAULT_ERROR_RETRY_MS = 30_000;

export interface RetryPolicy extends Backoff {
  /** After an unexpected error (store or GitHub unreachable): look again this soon. */
  errorRetryMs: number;
}

/** Delay before attempt `attempt + 1`, after `attempt` failures (1-based). */
export function retryDelayMs(attempt: number, policy: Backoff, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential * (1 - policy.jitter * random()));
}

/** After the `attempts`-th failure in a row of a setup step: when to try again; undefined: never (the environment is `failed`). */
export function stepRetryAt(params: { attempts: number; terminal: boolean; policy: RetryPolicy; now: number; random: () => number }): number | undefined {
  const { attempts, policy } = params;
  if (params.terminal || attempts >= policy.maxAttempts) return undefined;
  return params.now + retryDelayMs(attempts, policy, params.random);
}

/** After the `attempts`-th failure in a row of a teardown action: when to try again (always: giving up would leak). */
export function teardownRetryAt(params: { attempts: number; policy: RetryPolicy; now: number; random: () => number }): number {
  return params.now + retryDelayMs(params.attempts, params.policy, params.random);
}

/** After anything else failed a pass (the store or GitHub unreachable): when to look again. */
export function errorRetryAt(policy: RetryPolicy, now: number): number {
  return now + policy.errorRetryMs;
}
