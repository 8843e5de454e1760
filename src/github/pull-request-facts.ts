import type { EnvKey } from "../lifecycle/environment.js";
import type { Intent } from "../lifecycle/intent.js";

/** The parts of a `pull_request` webhook payload Ephemera reads. */
export interface PullRequestPayload {
  repository: { id: number; full_name: string };
  installation?: { id: number } | undefined;
  pull_request: {
    number: number;
    state: string;
    draft?: boolean | undefined;
    updated_at: string;
    closed_at: string | null;
    labels?: Array<{ name?: string | undefined }> | undefined;
    head: { sha: string; ref: string; repo: { full_name: string } | null };
    base: { repo: { full_name: string } };
  };
}

/**
 * Whether the event came through an installation of the App. Without one
 * nothing can be done on GitHub's side (no token), so it is not recorded.
 */
export function isInstalled(payload: PullRequestPayload): boolean {
  return (payload.installation?.id ?? 0) > 0;
}

export function envKeyOf(payload: PullRequestPayload): EnvKey {
  return { repoId: payload.repository.id, pr: payload.pull_request.number };
}

/**
 * The PR as the payload describes it, stamped with the PR's `updated_at` so
 * the fold can order it against other deliveries. A head repository that is
 * gone (a deleted fork) counts as a fork.
 */
export function prFactsIntent<T extends "open" | "push">(type: T, payload: PullRequestPayload): Extract<Intent, { type: T }> {
  const pr = payload.pull_request;
  const facts = {
    at: pr.updated_at,
    repo: payload.repository.full_name,
    installationId: payload.installation?.id ?? 0,
    headSha: pr.head.sha,
    headRef: pr.head.ref,
    fork: pr.head.repo?.full_name !== pr.base.repo.full_name,
    draft: pr.draft ?? false,
    labels: (pr.labels ?? []).flatMap((label) => (label.name ? [label.name] : [])),
  };
  return { type, ...facts } as Extract<Intent, { type: T }>;
}
