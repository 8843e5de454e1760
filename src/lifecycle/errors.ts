import { StepAbortedError, StepFailedError } from "./provider.js";

/**
 * Terminal vs retryable (the controller-runtime rule): a terminal failure is
 * recorded and not retried, an ordinary one is retried with backoff.
 * Providers say which with `StepFailedError.terminal`; anything else thrown
 * by a step (a network error, a bug in a provider) is retried, because
 * retrying an idempotent ensure is always safe.
 */

export type StepFailure = { terminal: boolean; message: string };

export function isAbort(error: unknown): boolean {
  return error instanceof StepAbortedError || (error instanceof Error && error.name === "AbortError");
}

/** What the PR shows for a failed step: the reason, then the tail of its output. */
export function describeFailure(error: unknown): StepFailure {
  if (error instanceof StepFailedError) {
    const tail = error.outputTail.trim();
    return { terminal: error.terminal, message: tail === "" ? error.message : `${error.message}\n${tail}` };
  }
  return { terminal: false, message: error instanceof Error ? error.message : String(error) };
}

/** The lease was taken over: everything this worker would write now is refused. */
export class FencedError extends Error {
  constructor(what: string) {
    super(`lost the lease while ${what}: another worker owns the environment now`);
    this.name = "FencedError";
  }
}
