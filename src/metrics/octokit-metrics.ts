import type { ProbotOctokit } from "probot";
import type { RateLimitHeaders } from "./rate-limits.js";
import type { Metrics } from "./registry.js";

interface AnsweredRequest {
  status: number;
  headers: RateLimitHeaders;
}

/**
 * An Octokit plugin counting GitHub requests, watching the rate limit and
 * whether GitHub answers at all (for /readyz):
 * install it with `ProbotOctokit.plugin(githubMetrics(metrics))` as Probot's
 * `Octokit`. Probot builds its clients on that class, so its throttling and
 * retry stay in place; their hooks were registered first and run inside this
 * one, so a request counts once, with its final outcome. One wrap hook sees
 * both outcomes: a response, or an error that may carry one (4xx, 5xx, 304).
 */
export function githubMetrics(metrics: Pick<Metrics, "githubRequests" | "rateLimits" | "githubReachability">) {
  const observe = (method: string, response: AnsweredRequest | undefined) => {
    metrics.githubRequests.inc({ method, status: response === undefined ? "error" : `${Math.floor(response.status / 100)}xx` });
    if (response !== undefined) metrics.rateLimits.record(response.headers);
    if (response === undefined || response.status >= 500) metrics.githubReachability.failed();
    else metrics.githubReachability.answered();
  };
  return (octokit: Pick<ProbotOctokit, "hook">): void => {
    octokit.hook.wrap("request", async (request, options) => {
      try {
        const response = await request(options);
        observe(options.method, response);
        return response;
      } catch (error) {
        observe(options.method, responseOf(error));
        throw error;
      }
    });
  };
}

/** The response an Octokit RequestError carries; none when the request never got one (network, timeout). */
function responseOf(error: unknown): AnsweredRequest | undefined {
  if (typeof error !== "object" || error === null || !("response" in error)) return undefined;
  const { response } = error;
  if (typeof response !== "object" || response === null || !("status" in response) || typeof response.status !== "number") return undefined;
  const headers = "headers" in response && typeof response.headers === "object" && response.headers !== null ? response.headers : {};
  return { status: response.status, headers: headers as RateLimitHeaders };
}
