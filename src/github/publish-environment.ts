import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { Template } from "../config/template-schema.js";
import type { EnvKey } from "../lifecycle/environment.js";
import { SHOWN_DEPLOYMENTS_LIMIT, type Shown } from "../lifecycle/shown.js";
import type { EnvSnapshot } from "../lifecycle/state-store.js";
import { commentView } from "./comment-view.js";
import { ensureStickyComment, stickyMarker } from "./ensure-comment.js";
import { deactivateEnvironment, ensureDeployment, ensureDeploymentStatus, type DeploymentStatus } from "./ensure-deployment.js";
import type { BotIdentity, RepoTarget } from "./github-api.js";
import type { NotifyClaim } from "./notify-claim.js";
import { renderComment } from "./render-comment.js";

export interface PublishParams {
  key: EnvKey;
  /** Loaded under `claim`, so it is at least as new as what any earlier writer showed. */
  snapshot: EnvSnapshot;
  target: RepoTarget;
  template: Template | undefined;
  bot: BotIdentity;
  claim: NotifyClaim;
  now: number;
  log: Logger;
}

/**
 * Brings the PR's sticky comment and deployment in line with the stored
 * state (DESIGN §5), under the notifier's claim on the PR, each an ensure
 * that makes no call when the record says GitHub already shows it: 1. the
 * comment, 2. the deployment for the head sha and its status, or `inactive`
 * on every deployment of the PR once torn down. Every id learnt is recorded
 * as soon as GitHub gives it, so a successor never makes it again.
 */
export async function publishEnvironment(params: PublishParams): Promise<void> {
  const shown = { current: shownOf(params.snapshot) };
  const remember = async (next: Shown) => {
    shown.current = next;
    await params.claim.record(next);
  };
  await publishComment(params, shown.current, remember);
  await publishDeployment(params, shown.current, remember);
}

/** The notifier's record, or for an environment last shown by an earlier release, the ids its reconciler kept in `artifacts`. */
function shownOf({ shown, fields }: EnvSnapshot): Shown {
  if (shown) return shown;
  const { commentId, deployments = {} } = fields.artifacts ?? {};
  return {
    ...(commentId === undefined ? {} : { comment: { id: commentId } }),
    deployments: Object.entries(deployments).map(([sha, id]) => ({ sha, id })),
  };
}

/** Short and one-way: the record says whether what is shown changed, never what it says. */
function digest(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("base64url").slice(0, 22);
}

async function publishComment(params: PublishParams, shown: Shown, remember: (next: Shown) => Promise<void>): Promise<void> {
  const { key, snapshot, target, template, bot, now } = params;
  const { fields } = snapshot;
  const body = renderComment(commentView({ pr: key.pr, fields, desired: fields.desired, template, now }));
  const bodyDigest = digest(body);
  const known = shown.comment;
  if (known?.digest === bodyDigest) return;
  const { commentId } = await ensureStickyComment({
    ...target,
    ...bot,
    issueNumber: key.pr,
    marker: stickyMarker(key.pr),
    body,
    ...(known === undefined ? {} : { knownCommentId: known.id, knownOutdated: known.digest !== undefined }),
  });
  await remember({ ...shown, comment: { id: commentId, digest: bodyDigest } });
}

/**
 * Whether the PR shows a deployment status other than the one the stored
 * state wants (or none): the update that would have shown it died with its
 * replica, whose notice lived only in memory. The comment's body is not
 * compared: it says "in 3h 59m", so it is always a little behind.
 */
export function showsStaleStatus(snapshot: EnvSnapshot): boolean {
  const wanted = wantedStatus(snapshot);
  const sha = snapshot.fields.desired?.headSha ?? snapshot.fields.config?.headSha;
  if (wanted === undefined || !sha) return false;
  return snapshot.shown?.deployments.find((deployment) => deployment.sha === sha)?.status !== digest(wanted);
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

/**
 * The head sha's deployment and its status. Once the environment is
 * deleted, `inactive` on every deployment of the PR instead, once: listed
 * on GitHub, so one an earlier writer made and never recorded is
 * deactivated too. (Under the claim no writer runs meanwhile, and a writer
 * that sees the environment torn down never creates one.)
 */
async function publishDeployment(params: PublishParams, shown: Shown, remember: (next: Shown) => Promise<void>): Promise<void> {
  const { key, snapshot, target, bot } = params;
  const { fields } = snapshot;
  if (fields.status === "deleted") {
    // Once recorded, no writer makes another deployment (each loads the state under the claim): nothing left to list.
    if (shown.inactive) return;
    const knownActive = new Set(shown.deployments.filter((deployment) => deployment.status !== undefined).map((deployment) => deployment.id));
    await deactivateEnvironment({ ...target, pr: key.pr, description: "Torn down", knownActive });
    await remember({ ...shown, inactive: true });
    return;
  }
  const wanted = wantedStatus(snapshot);
  const sha = fields.desired?.headSha ?? fields.config?.headSha;
  if (wanted === undefined || !sha) return;
  const known = shown.deployments.find((deployment) => deployment.sha === sha);
  const { deploymentId, result } = await ensureDeployment({ ...target, ...bot, pr: key.pr, sha, ...(known && { knownDeploymentId: known.id }) });
  const others = shown.deployments.filter((deployment) => deployment.sha !== sha).slice(1 - SHOWN_DEPLOYMENTS_LIMIT);
  const entry = { sha, id: deploymentId, ...(known?.id === deploymentId && known.status !== undefined ? { status: known.status } : {}) };
  if (known?.id !== deploymentId) await remember(showing(shown, [...others, entry]));

  const statusDigest = digest(wanted);
  if (entry.status === statusDigest) return;
  // A digest recorded for another status, or a deployment just made: it is not in force, post it. Otherwise ask GitHub.
  const lastState = result === "created" || entry.status !== undefined ? { lastState: null } : {};
  await ensureDeploymentStatus({ ...target, deploymentId, ...wanted, ...lastState });
  await remember(showing(shown, [...others, { ...entry, status: statusDigest }]));
}

/** The record with these deployments, live again: a revived environment's are active until its next teardown. */
function showing({ comment }: Shown, deployments: Shown["deployments"]): Shown {
  return { ...(comment && { comment }), deployments };
}
