import type { ProbotOctokit } from "probot";

/**
 * What every outbound GitHub call here shares: the installation's Octokit
 * (`context.octokit` or `app.auth(installationId)`), whose retry and
 * throttling plugins already handle 5xx and rate limits, and the repository.
 */
export interface RepoTarget {
  readonly octokit: ProbotOctokit;
  readonly owner: string;
  readonly repo: string;
  /**
   * Awaited before every write to the PR's comment or deployments: the
   * notifier's claim on the PR (see notify-claim.ts), which throws once
   * another replica has taken it over.
   */
  readonly beforeWrite?: () => Promise<void>;
}

/**
 * Our app's bot account, when the caller knows it (`<app-slug>[bot]`, or its
 * user id). Without it, any Bot account is trusted: a person can never pass,
 * but another app could.
 */
export interface BotIdentity {
  readonly botLogin?: string;
  readonly botUserId?: number;
}

interface Author {
  readonly login: string;
  readonly id: number;
  readonly type: string;
}

/** Whether `author` is our bot, so that a person's comment carrying our marker is never taken for ours. */
export function isOurBot(author: Author | null | undefined, bot: BotIdentity): boolean {
  if (author?.type !== "Bot") return false;
  if (bot.botUserId !== undefined && author.id !== bot.botUserId) return false;
  return bot.botLogin === undefined || author.login.toLowerCase() === bot.botLogin.toLowerCase();
}

export type GoneResource = "repository" | "issue" | "comment" | "deployment";

/**
 * GitHub answered 404 or 410 for something we write to: the PR, the comment
 * or the deployment was deleted, or the app lost the repository. Terminal for
 * this side effect: the caller records it and does not retry.
 */
export class GitHubGoneError extends Error {
  override readonly name = "GitHubGoneError";

  constructor(
    readonly kind: GoneResource,
    readonly resource: string,
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(`GitHub no longer has ${kind} ${resource} (HTTP ${status})`, options);
  }
}

/** The HTTP status of an Octokit `RequestError`, read by shape so that any copy of the class is recognised. */
export function httpStatus(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null || !("status" in error)) return undefined;
  return typeof error.status === "number" ? error.status : undefined;
}

/** Runs `call`; a 404 or 410 becomes a `GitHubGoneError` naming what is gone, anything else propagates. */
export async function orGone<T>(kind: GoneResource, resource: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const status = httpStatus(error);
    if (status === 404 || status === 410) throw new GitHubGoneError(kind, resource, status, { cause: error });
    throw error;
  }
}

/** Runs `call`; a 404 (the thing was deleted) gives `undefined`, anything else propagates. */
export async function ifFound<T>(call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    if (httpStatus(error) === 404) return undefined;
    throw error;
  }
}
