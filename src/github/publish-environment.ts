import type { Logger } from "pino";
import type { Template } from "../config/template-schema.js";
import type { EnvKey } from "../lifecycle/environment.js";
import type { EnvSnapshot } from "../store/state-store.js";
import { commentView } from "./comment-view.js";
import { ensureStickyComment, stickyMarker } from "./ensure-comment.js";
import {
  deactivateEnvironment,
  ensureDeployment,
  ensureDeploymentStatus,
  type DeploymentStatus,
} from "./ensure-deployment.js";
import type { BotIdentity, RepoTarget } from "./github-api.js";
import { renderComment } from "./render-comment.js";

/** The GitHub ids an update created, to be kept in the environment's artifacts. */
export interface ShownIds {
  commentId?: number;
  deployment?: { sha: string; id: number };
}

/**
 * What one process remembers of what it showed, to make no call when nothing
 * changed and no lookup for ids the store has not caught up with yet.
 */
export interface ShownCache {
  /** By PR: the comment and the body last written to it. */
  comment: Map<string, { id: number; body: string }>;
  /** By PR and sha. */
  deployment: Map<string, number>;
  /** By deployment id: the status last posted. */
  status: Map<number, DeploymentStatus>;
}

export function emptyShownCache(): ShownCache {
  return { comment: new Map(), deployment: new Map(), status: new Map() };
}

export interface PublishParams {
  key: EnvKey;
  snapshot: EnvSnapshot;
  target: RepoTarget;
  template: Template | undefined;
  bot: BotIdentity;
  cache: ShownCache;
  now: number;
  log: Logger;
}

/**
 * Brings the PR's sticky comment and deployment in line with the stored
 * state (DESIGN §5), each an ensure that makes no call when GitHub already
 * shows it: 1. the comment, 2. the deployment for the head sha and its
 * status, or `inactive` on every deployment once torn down.
 */
export async function publishEnvironment(params: PublishParams): Promise<ShownIds> {
  const shown: ShownIds = {};
  const commentId = await publishComment(params);
  if (commentId !== undefined) shown.commentId = commentId;
  const deployment = await publishDeployment(params);
  if (deployment !== undefined) shown.deployment = deployment;
  return shown;
}

export function cacheKey({ repoId, pr }: EnvKey): string {
  return `${repoId}/${pr}`;
}

async function publishComment({ key, snapshot, target, template, bot, cache, now }: PublishParams): Promise<number | undefined> {
  const { fields } = snapshot;
  const body = renderComment(commentView({ pr: key.pr, fields, desired: fields.desired, template, now }));
  const last = cache.comment.get(cacheKey(key));
  if (last?.body === body) return undefined;
  const stored = fields.artifacts?.commentId;
  const known = last?.id ?? stored;
  const { commentId } = await ensureStickyComment({
    ...target,
    ...bot,
    issueNumber: key.pr,
    marker: stickyMarker(key.pr),
    body,
    ...(known === undefined ? {} : { knownCommentId: known }),
    ...(last === undefined ? {} : { knownBody: last.body }),
  });
  cache.comment.set(cacheKey(key), { id: commentId, body });
  return commentId === stored ? undefined : commentId;
}

/** The deployment status that shows a status; undefined while there is nothing to show. */
function wantedStatus(snapshot: EnvSnapshot): DeploymentStatus | undefined {
  const { status, artifacts } = snapshot.fields;
  if (artifacts?.blocked !== undefined) return undefined;
  switch (status) {
    case "pending":
    case "queued":
    case "provisioning":
      return { state: "in_progress", description: status === "queued" ? "Waiting for a free place" : "Setting up" };
    case "ready":
      return artifacts?.url === undefined
        ? { state: "success", description: "Ready" }
        : { state: "success", environmentUrl: artifacts.url, description: "Ready" };
    case "failed":
      return { state: "failure", description: `Step ${artifacts?.error?.step ?? "?"} failed`.slice(0, 140) };
    default:
      return undefined;
  }
}

async function publishDeployment({ key, snapshot, target, bot, cache }: PublishParams): Promise<ShownIds["deployment"]> {
  const { fields } = snapshot;
  if (fields.status === "deleted") {
    await deactivateEnvironment({ ...target, pr: key.pr, description: "Torn down" });
    return undefined;
  }
  const wanted = wantedStatus(snapshot);
  const sha = fields.desired?.headSha ?? fields.config?.headSha;
  if (wanted === undefined || !sha) return undefined;
  const stored = fields.artifacts?.deployments[sha];
  const known = stored ?? cache.deployment.get(`${cacheKey(key)}@${sha}`);
  const { deploymentId, result } = await ensureDeployment({
    ...target,
    ...bot,
    pr: key.pr,
    sha,
    ...(known === undefined ? {} : { knownDeploymentId: known }),
  });
  cache.deployment.set(`${cacheKey(key)}@${sha}`, deploymentId);
  const last = result === "created" ? null : cache.status.get(deploymentId);
  const { status } = await ensureDeploymentStatus({ ...target, deploymentId, ...wanted, ...(last === undefined ? {} : { lastState: last }) });
  cache.status.set(deploymentId, status);
  return deploymentId === stored ? undefined : { sha, id: deploymentId };
}
