import { orGone, type RepoTarget } from "./github-api.js";

export interface ReplyParams extends RepoTarget {
  readonly issueNumber: number;
  readonly body: string;
}

export type CommandReaction = "+1" | "confused";

export interface ReactParams extends RepoTarget {
  /** The comment that carried the command. */
  readonly commentId: number;
  readonly content: CommandReaction;
}

/**
 * A new comment on the PR (a refusal, the help text, the expiry warning).
 * Not idempotent: the caller records that it replied. Throws
 * `GitHubGoneError` when the PR is gone.
 */
export async function reply({ octokit, owner, repo, issueNumber, body }: ReplyParams): Promise<{ commentId: number }> {
  const { data } = await orGone("issue", `${owner}/${repo}#${issueNumber}`, () =>
    octokit.rest.issues.createComment({ owner, repo, issue_number: issueNumber, body }),
  );
  return { commentId: data.id };
}

/**
 * Reacts to a command comment: `+1` when done, `confused` when refused.
 * Idempotent on GitHub's side: a reaction our bot had made already answers
 * 200 instead of 201, which this returns as "existing" (the comment was
 * answered before, by an earlier delivery of it). Throws `GitHubGoneError`
 * when the comment was deleted meanwhile.
 */
export async function react({ octokit, owner, repo, commentId, content }: ReactParams): Promise<"created" | "existing"> {
  const { status } = await orGone("comment", `${owner}/${repo} comment ${commentId}`, () =>
    octokit.rest.reactions.createForIssueComment({ owner, repo, comment_id: commentId, content }),
  );
  return status === 200 ? "existing" : "created";
}
