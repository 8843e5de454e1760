/** How long every GitHub request must have failed before the replica says it cannot reach GitHub. */
const UNREACHABLE_AFTER_MS = 60_000;
/** Failures older than this, with no request since, say nothing any more: GitHub may well be back. */
const FORGET_AFTER_MS = 5 * 60_000;

/**
 * Whether this replica can reach GitHub, from the outcomes of the requests it
 * makes anyway (the Octokit metrics plugin reports each one): /readyz takes a
 * replica that has not reached GitHub for a while out of rotation, as it does
 * one that cannot reach its store, without probing GitHub itself. Any answer
 * below 500 (a 404, a 403 rate limit) is GitHub reached; no answer (network,
 * timeout, a broken throttling store) or a 5xx is a failure. Unreachable
 * means failures only, spanning more than a minute, the last one recent.
 */
export class GitHubReachability {
  /** The first failure since the last answer, and the latest one. */
  private failing: { since: number; last: number } | undefined;

  constructor(private readonly now: () => number) {}

  answered(): void {
    this.failing = undefined;
  }

  failed(): void {
    const at = this.now();
    this.failing = { since: this.failing?.since ?? at, last: at };
  }

  unreachable(): boolean {
    const { failing } = this;
    if (failing === undefined) return false;
    return failing.last - failing.since > UNREACHABLE_AFTER_MS && this.now() - failing.last <= FORGET_AFTER_MS;
  }
}
