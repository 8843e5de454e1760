import type { Policy } from "../config/policy.js";
import type { DesiredState } from "./desired.js";

/**
 * The policy gates (DESIGN §6, §7). Each returns why the environment is not
 * created (or not updated), in words for the PR, or undefined when it may go
 * ahead. `/preview deploy` (an approval) opens every gate; for a fork under
 * `forks: approve` it opens it only for a head the approval covers
 * (`headApproved`).
 */

const short = (sha: string) => sha.slice(0, 7);

/** GitHub times compare as instants; an absent or unreadable one is never "no later than" anything. */
const instant = (at: string | undefined) => (at === undefined ? Number.NaN : Date.parse(at));

/**
 * Whether an approval covers the head: `/preview deploy <sha>` named it, or
 * the head was the one GitHub showed when `/preview deploy` was commented —
 * first stamped no later than the comment, and no other head stamped
 * between (DESIGN §6). A head pushed after the comment — even one delivered
 * or processed before it — is not covered: nobody has seen it. Nor is an
 * older head pushed back over the one approved: its stamp is from before,
 * but the approver saw another; naming its sha approves it.
 */
export function headApproved(desired: DesiredState): boolean {
  if (desired.approvedSha !== undefined && desired.approvedSha === desired.headSha) return true;
  const approvedAt = instant(desired.approvedAt);
  const stamp = instant(desired.headStamps?.[desired.headSha]);
  if (!(stamp <= approvedAt)) return false;
  return Object.entries(desired.headStamps ?? {}).every(([sha, at]) => sha === desired.headSha || !(stamp < instant(at) && instant(at) <= approvedAt));
}

function approvalGiven(desired: DesiredState): boolean {
  return desired.approvedAt !== undefined || desired.approvedSha !== undefined;
}

/** Whether the head may reach a step (its `EPHEMERA_SHA`, a TTL renewal): not a fork head the fork policy holds back. */
export function headCleared(desired: DesiredState, forks: Policy["forks"]): boolean {
  return !desired.fork || forks === "always" || (forks === "approve" && headApproved(desired));
}

function forkBlocker(desired: DesiredState, policy: Policy): string | undefined {
  if (headCleared(desired, policy.forks)) return undefined;
  if (policy.forks === "never") return "PRs from forks do not get an environment here (policy forks: never).";
  return approvalGiven(desired)
    ? `A newer push is waiting for approval: the head ${short(desired.headSha)} came after the last \`/preview deploy\`; someone with write access must approve it with \`/preview deploy\` again, or name it: \`/preview deploy ${desired.headSha}\`.`
    : "This PR comes from a fork: someone with write access must approve it with `/preview deploy`.";
}

/** Why a new environment is not created. */
export function creationBlocker(desired: DesiredState, policy: Policy): string | undefined {
  const fork = forkBlocker(desired, policy);
  if (fork !== undefined) return fork;
  const deployed = approvalGiven(desired);
  if (desired.draft && policy.drafts === "skip" && !deployed) {
    return "Draft PRs get an environment once they are ready for review, or with `/preview deploy`.";
  }
  if (policy.trigger === "label" && !desired.labels.includes(policy.label) && !deployed) {
    return `Environments are created for PRs labelled \`${policy.label}\`, or with \`/preview deploy\`.`;
  }
  return undefined;
}

/**
 * Why an existing environment does not run its steps for the new head: only
 * an unapproved fork head holds it back. A PR turned draft or unlabelled keeps
 * what it has.
 */
export function updateBlocker(desired: DesiredState, policy: Policy): string | undefined {
  return forkBlocker(desired, policy);
}
