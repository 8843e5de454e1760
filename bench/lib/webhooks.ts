import { randomUUID } from "node:crypto";
import { pullRequestEvent, type PrScenario } from "../../test/helpers/pr-events.js";
import { sign } from "../../test/helpers/webhooks.js";
import type { PreparedRequest } from "./load.js";

export const WEBHOOK_PATH = "/api/github/webhooks";

export interface SynchronizeLoad {
  /** The n-th request: the PRs in turn, each with a fresh delivery id. */
  request(n: number): PreparedRequest;
  /** Size of one body in bytes. */
  bodyBytes: number;
  /** How many PRs the requests go round (request n is for PR n % prs + 1). */
  prs: number;
}

/**
 * Real signed `pull_request.synchronize` deliveries (the
 * @octokit/webhooks-examples payload, adapted by the test helper), one body
 * per PR, built and signed once. Only `X-GitHub-Delivery` changes per
 * request, as it does on GitHub: a delivery recorded once is a duplicate.
 */
export function synchronizeLoad(params: { scenario: Omit<PrScenario, "pr">; prs: number; secret: string; sha: string }): SynchronizeLoad {
  const at = new Date();
  const bodies = Array.from({ length: params.prs }, (_, i) => {
    const body = Buffer.from(JSON.stringify(pullRequestEvent({ ...params.scenario, pr: i + 1 }, "synchronize", { sha: params.sha, at })));
    return { body, signature: sign(body.toString("utf8"), params.secret) };
  });
  return {
    bodyBytes: bodies[0]?.body.length ?? 0,
    prs: params.prs,
    request(n) {
      const { body, signature } = bodies[n % bodies.length] as (typeof bodies)[number];
      return {
        body,
        headers: {
          "content-type": "application/json",
          "content-length": body.length,
          "x-github-event": "pull_request",
          "x-github-delivery": randomUUID(),
          "x-hub-signature-256": signature,
          "user-agent": "GitHub-Hookshot/bench",
        },
      };
    },
  };
}
