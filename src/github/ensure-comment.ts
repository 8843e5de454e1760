import { type BotIdentity, ifFound, isOurBot, orGone, type RepoTarget } from "./github-api.js";

export type EnsureResult = "created" | "updated" | "unchanged";

export interface EnsureStickyCommentParams extends RepoTarget, BotIdentity {
  readonly issueNumber: number;
  /** The first line of the comment: how the comment is found again (see `stickyMarker`). */
  readonly marker: string;
  /** The rendered comment; the marker is put on its first line unless it is there already. */
  readonly body: string;
  /** The comment id recorded last time: one GET instead of listing every comment of the PR. */
  readonly knownCommentId?: number;
  /**
   * The caller knows `knownCommentId` does not read `body` (it recorded a
   * digest of what it last wrote there). The GET is skipped and the edit
   * goes straight out (a 404 still falls back to searching): one call per
   * change instead of two.
   */
  readonly knownOutdated?: boolean;
}

export interface StickyComment {
  readonly commentId: number;
  readonly result: EnsureResult;
}

interface IssueComment {
  readonly id: number;
  readonly body?: string;
  readonly user: { login: string; id: number; type: string } | null;
}

/** The marker of the one status comment of a PR (DESIGN §5). */
export function stickyMarker(pr: number): string {
  return `<!-- ephemera:env:pr-${pr} -->`;
}

/**
 * Makes the PR's sticky comment read `body`, with as few writes as possible:
 * the recorded comment if it still exists, else the newest comment of ours
 * that carries the marker, else a new one. An identical body costs no write
 * (GitHub throttles content writes). Called one after another it never
 * creates a second comment; the notifier's claim on the PR keeps calls for
 * one PR sequential across replicas.
 *
 * Throws `GitHubGoneError` when the PR itself is gone.
 */
export async function ensureStickyComment(params: EnsureStickyCommentParams): Promise<StickyComment> {
  const body = withMarker(params.marker, params.body);
  const { knownCommentId, knownOutdated } = params;
  if (knownCommentId !== undefined && knownOutdated) {
    const converged = await converge(params, { id: knownCommentId, user: null }, body);
    if (converged) return converged;
  }
  // A comment that vanishes between finding and editing (a person deleted it) sends us to the next finder.
  for (const find of [findKnown, findByMarker]) {
    const comment = await find(params);
    const converged = comment && (await converge(params, comment, body));
    if (converged) return converged;
  }
  await params.beforeWrite?.();
  const { data } = await orGone("issue", issueName(params), () =>
    params.octokit.rest.issues.createComment({ owner: params.owner, repo: params.repo, issue_number: params.issueNumber, body }),
  );
  return { commentId: data.id, result: "created" };
}

function withMarker(marker: string, body: string): string {
  return firstLine(body) === marker ? body : `${marker}\n${body}`;
}

function firstLine(text: string | undefined): string {
  return (text ?? "").split("\n", 1)[0]!.trim();
}

function issueName({ owner, repo, issueNumber }: EnsureStickyCommentParams): string {
  return `${owner}/${repo}#${issueNumber}`;
}

async function findKnown(params: EnsureStickyCommentParams): Promise<IssueComment | undefined> {
  const { octokit, owner, repo, knownCommentId } = params;
  if (knownCommentId === undefined) return undefined;
  const response = await ifFound(() => octokit.rest.issues.getComment({ owner, repo, comment_id: knownCommentId }));
  // The id came from our own store, but only ever edit a comment our bot wrote.
  return response && isOurBot(response.data.user, params) ? response.data : undefined;
}

/** Our newest comment whose first line is the marker; comments list in ascending id order. */
async function findByMarker(params: EnsureStickyCommentParams): Promise<IssueComment | undefined> {
  const { octokit, owner, repo, issueNumber, marker } = params;
  const comments = await orGone("issue", issueName(params), () =>
    octokit.paginate(octokit.rest.issues.listComments, { owner, repo, issue_number: issueNumber, per_page: 100 }),
  );
  return comments.findLast((comment) => firstLine(comment.body) === marker && isOurBot(comment.user, params));
}

/** Edits `comment` to read `body` when it differs; `undefined` when the comment is gone. */
async function converge(params: EnsureStickyCommentParams, comment: IssueComment, body: string): Promise<StickyComment | undefined> {
  if (comment.body === body) return { commentId: comment.id, result: "unchanged" };
  const { octokit, owner, repo } = params;
  await params.beforeWrite?.();
  const updated = await ifFound(() => octokit.rest.issues.updateComment({ owner, repo, comment_id: comment.id, body }));
  return updated && { commentId: comment.id, result: "updated" };
}
