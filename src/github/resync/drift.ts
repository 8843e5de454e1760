import { CLOSE_REASONS, type Intent } from "../../lifecycle/intent.js";
import { prFactsIntent, type PullRequestPayload } from "../pull-request-facts.js";
import type { LiveEnvironment, LiveRepository } from "./live-repositories.js";

/** A pull request as `pulls.list` and `pulls.get` return it (the webhook payload's shape), with its repository's id. */
export type PullRequest = PullRequestPayload["pull_request"] & { base: { repo: { id: number } } };

/**
 * What resync records for one environment. The delivery id names the fact it
 * saw on GitHub, so resyncing again (or on another replica) before the
 * reconciler has folded it records nothing twice.
 */
export type Drift = { kind: "renew" | "close"; intent: Intent; deliveryId: string };

/**
 * Compares an environment with its PR as GitHub answered it. Only GitHub's
 * own `state: "closed"` tears down; a PR that is open with another head is a
 * push missed while the app was away (renews the TTL, re-runs `onUpdate`
 * steps). Both intents carry GitHub's timestamps, so the fold orders them
 * against webhooks that arrive later. Undefined: nothing drifted.
 */
export function driftOf(repository: LiveRepository, environment: LiveEnvironment, pr: PullRequest): Drift | undefined {
  const id = `resync:${repository.repoId}:${pr.number}`;
  if (pr.state === "closed") {
    const at = pr.closed_at ?? pr.updated_at;
    return { kind: "close", intent: { type: "close", at, reason: CLOSE_REASONS.prClosed }, deliveryId: `${id}:closed:${at}` };
  }
  if (pr.state !== "open" || pr.head.sha === environment.headSha) return undefined;
  const payload = { repository: { id: repository.repoId, full_name: pr.base.repo.full_name }, installation: { id: repository.installationId }, pull_request: pr };
  // `updated_at` too: a head that moves away and back is a new push each time.
  return { kind: "renew", intent: prFactsIntent("push", payload), deliveryId: `${id}:push:${pr.head.sha}@${pr.updated_at}` };
}
