import { examplePayload } from "./webhooks.js";

/**
 * Real webhook payloads (@octokit/webhooks-examples) adapted to one
 * repository and PR, with the timestamps a real sequence of events would
 * carry, so the fold's ordering sees what GitHub would send.
 */
export interface PrScenario {
  repoId: number;
  owner: string;
  name: string;
  installationId: number;
  pr: number;
  /** The fork the head comes from; absent for a branch of the repository itself. */
  forkOwner?: string;
}

function repositoryOf(s: PrScenario, base: Record<string, any>) {
  return { ...base, id: s.repoId, name: s.name, full_name: `${s.owner}/${s.name}`, owner: { ...base.owner, login: s.owner } };
}

export function pullRequestEvent(
  s: PrScenario,
  action: "opened" | "synchronize" | "closed" | "reopened" | "labeled" | "ready_for_review" | "converted_to_draft",
  head: { sha: string; at: Date; ref?: string; draft?: boolean; labels?: string[] },
): Record<string, any> {
  const example = examplePayload("pull_request", action === "opened" ? "opened" : action);
  const repository = repositoryOf(s, example.repository);
  const headRepo = s.forkOwner ? { ...repository, id: s.repoId + 1, full_name: `${s.forkOwner}/${s.name}`, owner: { login: s.forkOwner } } : repository;
  const at = head.at.toISOString();
  const closed = action === "closed";
  return {
    ...example,
    action,
    number: s.pr,
    repository,
    installation: { id: s.installationId, node_id: "MDIz" },
    pull_request: {
      ...example.pull_request,
      number: s.pr,
      state: closed ? "closed" : "open",
      draft: head.draft ?? false,
      updated_at: at,
      closed_at: closed ? at : null,
      labels: (head.labels ?? []).map((name, i) => ({ id: i + 1, name })),
      head: { ...example.pull_request.head, sha: head.sha, ref: head.ref ?? "feature", repo: headRepo },
      base: { ...example.pull_request.base, repo: repository },
    },
  };
}

export function prCommentEvent(s: PrScenario, body: string, author: { login: string; at: Date; id?: number }): Record<string, any> {
  const example = examplePayload("issue_comment", "created");
  return {
    ...example,
    action: "created",
    repository: repositoryOf(s, example.repository),
    installation: { id: s.installationId, node_id: "MDIz" },
    issue: { ...example.issue, number: s.pr, pull_request: { url: `https://api.github.com/repos/${s.owner}/${s.name}/pulls/${s.pr}` } },
    comment: {
      ...example.comment,
      id: author.id ?? Math.floor(author.at.getTime() / 1000),
      body,
      created_at: author.at.toISOString(),
      user: { ...example.comment.user, login: author.login, type: "User" },
    },
  };
}
