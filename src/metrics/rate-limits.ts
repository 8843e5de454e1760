import type { Gauge } from "prom-client";

/** The rate-limit headers of a GitHub response, as Octokit gives them (lower-case names). */
export type RateLimitHeaders = Record<string, string | number | undefined>;

interface Budget {
  remaining: number;
  limit: number;
  /** When the window ends and the budget is full again (ms). */
  resetAt: number;
}

/**
 * The lowest GitHub rate-limit budget seen, per resource (`core`,
 * `search`, `graphql`…). Every installation token has its own budget, so
 * the last response seen says little: it flips between installations. The
 * lowest remaining within its window is the one that will run out first,
 * which is what an alert wants; once its window has reset it counts as
 * full (its limit) until a response says otherwise. A label per
 * installation would be one series per customer.
 */
export class LowestRateLimits {
  private readonly lowest = new Map<string, Budget>();

  constructor(private readonly now: () => number) {}

  record(headers: RateLimitHeaders): void {
    const remaining = Number(headers["x-ratelimit-remaining"]);
    const limit = Number(headers["x-ratelimit-limit"]);
    const resetAt = Number(headers["x-ratelimit-reset"]) * 1000;
    // Absent on some answers (GitHub Enterprise with rate limiting off, errors before the API).
    if (!Number.isFinite(remaining) || !Number.isFinite(limit) || !Number.isFinite(resetAt)) return;
    const resource = String(headers["x-ratelimit-resource"] ?? "core");
    const current = this.lowest.get(resource);
    if (current === undefined || current.resetAt <= this.now() || remaining < current.remaining) {
      this.lowest.set(resource, { remaining, limit, resetAt });
    }
  }

  show(gauge: Gauge<"resource">): void {
    const now = this.now();
    for (const [resource, budget] of this.lowest) gauge.set({ resource }, budget.resetAt <= now ? budget.limit : budget.remaining);
  }
}
