import { envId } from "../lifecycle/environment.js";
import { type BotIdentity, GitHubGoneError, isOurBot, orGone, type RepoTarget } from "./github-api.js";
import { withoutCredentials } from "../lifecycle/without-credentials.js";

/**
 * DESIGN §5: one GitHub deployment per head sha in environment
 * `preview/pr-<n>`, whose statuses drive the PR's "View deployment" button.
 * The states used need no preview media type any more: `in_progress` (once
 * `flash-preview`) and `inactive` (once `ant-man-preview`) are part of the
 * current API, so Octokit's default `application/vnd.github.v3+json` is all
 * they need.
 */

export type DeploymentState = "in_progress" | "success" | "failure" | "inactive";

/**
 * A deployment status: as we post it (`DeploymentStatus`), or as GitHub
 * reports it, in whatever state another tool may have posted.
 */
interface StatusFields<S extends string> {
  readonly state: S;
  /** The environment's URL: the "View deployment" link. Sent with `success` only. */
  readonly environmentUrl?: string;
  /** Where to read what happened (the sticky comment, a log). */
  readonly logUrl?: string;
  /** At most 140 characters (GitHub's limit). */
  readonly description?: string;
}

export type DeploymentStatus = StatusFields<DeploymentState>;

export interface EnsureDeploymentParams extends RepoTarget, BotIdentity {
  readonly pr: number;
  readonly sha: string;
  /** The id recorded for this sha: with it, no call at all. */
  readonly knownDeploymentId?: number;
}

export interface EnsuredDeployment {
  readonly deploymentId: number;
  readonly result: "created" | "unchanged";
}

export interface EnsureDeploymentStatusParams extends RepoTarget, DeploymentStatus {
  readonly deploymentId: number;
  /**
   * The status last posted on this deployment, as returned by the previous
   * call; null for a deployment just created, which has none. Absent, it
   * is read from GitHub, so a lost record costs one GET rather than a
   * duplicate status.
   */
  readonly lastState?: DeploymentStatus | null;
}

export interface EnsuredDeploymentStatus {
  readonly result: "created" | "unchanged";
  /** The status now in force on the deployment: keep it as the next `lastState`. */
  readonly status: DeploymentStatus;
}

export interface DeactivateEnvironmentParams extends RepoTarget {
  readonly pr: number;
  readonly description?: string;
  /** Deployments whose last status the caller posted itself, not `inactive`: deactivated without reading their status first. */
  readonly knownActive?: ReadonlySet<number>;
}

export function previewEnvironment(pr: number): string {
  return `preview/pr-${pr}`;
}

/**
 * The deployment of `sha`: the recorded one, else the one our bot already
 * made for this sha and PR (a writer that died before recording the id:
 * found by environment and sha, and told by its `payload`), else a new
 * one. Transient, never production, no auto-merge into the ref and no
 * required status contexts: a preview must not wait for CI or touch the branch.
 */
export async function ensureDeployment(params: EnsureDeploymentParams): Promise<EnsuredDeployment> {
  if (params.knownDeploymentId !== undefined) return { deploymentId: params.knownDeploymentId, result: "unchanged" };
  const { octokit, owner, repo, pr, sha } = params;
  const environment = previewEnvironment(pr);
  const repository = `${owner}/${repo}`;
  const existing = await orGone("repository", repository, () =>
    octokit.paginate(octokit.rest.repos.listDeployments, { owner, repo, sha, environment, per_page: 100 }),
  );
  const ours = existing.find((deployment) => isOurBot(deployment.creator, params) && madeFor(deployment.payload, pr));
  if (ours) return { deploymentId: ours.id, result: "unchanged" };

  await params.beforeWrite?.();
  const { data } = await orGone("repository", repository, () =>
    octokit.rest.repos.createDeployment({
      owner,
      repo,
      ref: sha,
      environment,
      description: `Preview environment of PR #${pr}`,
      transient_environment: true,
      production_environment: false,
      auto_merge: false,
      required_contexts: [],
      // Sent to `deployment` webhooks, and how a successor tells ours for this
      // PR and sha (the correlation, made before GitHub answers). Never anything secret.
      payload: { ephemera: envId(pr), pr, sha },
    }),
  );
  // 202 ("merged branch") only happens with auto_merge, which we turn off; fail loudly should it ever come.
  if (!("id" in data)) throw new Error(`GitHub created no deployment of ${repository}@${sha}: ${data.message ?? "no message"}`);
  return { deploymentId: data.id, result: "created" };
}

/** Whether a deployment's payload says it is this PR's (releases before the `ephemera` field sent `{ pr }` alone). */
function madeFor(payload: unknown, pr: number): boolean {
  return typeof payload === "object" && payload !== null && "pr" in payload && payload.pr === pr;
}

/** Posts `state` on the deployment unless it is already the status in force. */
export async function ensureDeploymentStatus(params: EnsureDeploymentStatusParams): Promise<EnsuredDeploymentStatus> {
  const wanted = normalise(params);
  const last =
    params.lastState === undefined ? await latestStatus(params, params.deploymentId) : params.lastState && normalise(params.lastState);
  if (last && sameStatus(last, wanted)) return { result: "unchanged", status: wanted };
  await postStatus(params, params.deploymentId, wanted);
  return { result: "created", status: wanted };
}

/**
 * After teardown: `inactive` on every deployment of the PR's environment
 * that is not inactive yet (GitHub never deactivates transient environments
 * by itself). Returns the ids it deactivated; running it again posts nothing.
 */
export async function deactivateEnvironment(params: DeactivateEnvironmentParams): Promise<number[]> {
  const { octokit, owner, repo, pr } = params;
  const deployments = await orGone("repository", `${owner}/${repo}`, () =>
    octokit.paginate(octokit.rest.repos.listDeployments, { owner, repo, environment: previewEnvironment(pr), per_page: 100 }),
  );
  const inactive = normalise({ state: "inactive", description: params.description ?? "Preview environment torn down" });
  const deactivated: number[] = [];
  for (const { id } of deployments) {
    try {
      const latest = params.knownActive?.has(id) ? undefined : await latestStatus(params, id);
      if (latest?.state === "inactive") continue;
      await postStatus(params, id, inactive);
      deactivated.push(id);
    } catch (error) {
      // Deleted since it was listed: nothing left to deactivate, and the others still need it.
      if (!(error instanceof GitHubGoneError)) throw error;
    }
  }
  return deactivated;
}

/** Drops empty fields, and the environment URL from anything but `success`, so equal statuses compare equal. */
function normalise<S extends string>({ state, environmentUrl, logUrl, description }: StatusFields<S>): StatusFields<S> {
  return {
    state,
    // A deployment's page is as public as the PR: a URL's credentials never reach it.
    ...(state === "success" && environmentUrl ? { environmentUrl: withoutCredentials(environmentUrl) } : {}),
    ...(logUrl ? { logUrl } : {}),
    ...(description ? { description: description.slice(0, 140) } : {}),
  };
}

function sameStatus(a: StatusFields<string>, b: StatusFields<string>): boolean {
  return a.state === b.state && a.environmentUrl === b.environmentUrl && a.logUrl === b.logUrl && a.description === b.description;
}

/** The newest status of a deployment (GitHub lists them newest first), or `undefined` when it has none. */
async function latestStatus({ octokit, owner, repo }: RepoTarget, deploymentId: number): Promise<StatusFields<string> | undefined> {
  const { data } = await orGone("deployment", `${owner}/${repo} deployment ${deploymentId}`, () =>
    octokit.rest.repos.listDeploymentStatuses({ owner, repo, deployment_id: deploymentId, per_page: 1 }),
  );
  const latest = data[0];
  return (
    latest &&
    normalise({
      state: latest.state,
      environmentUrl: latest.environment_url,
      logUrl: latest.log_url,
      description: latest.description,
    })
  );
}

async function postStatus({ octokit, owner, repo, beforeWrite }: RepoTarget, deploymentId: number, status: DeploymentStatus): Promise<void> {
  await beforeWrite?.();
  await orGone("deployment", `${owner}/${repo} deployment ${deploymentId}`, () =>
    octokit.rest.repos.createDeploymentStatus({
      owner,
      repo,
      deployment_id: deploymentId,
      state: status.state,
      ...(status.environmentUrl ? { environment_url: status.environmentUrl } : {}),
      // log_url replaces the legacy target_url (GitHub sets target_url to the same value).
      ...(status.logUrl ? { log_url: status.logUrl } : {}),
      ...(status.description ? { description: status.description } : {}),
      // auto_inactive only ever touches non-transient environments; ours are transient, so it is left at its default.
    }),
  );
}
