import type { Policy } from "../config/policy.js";
import type { DesiredState } from "./desired.js";

/**
 * The policy gates (DESIGN §6, §7). Each returns why the environment is not
 * created (or not updated), in words for the PR, or undefined when it may go
 * ahead. `/preview deploy` (an approval) opens every gate; for a fork under
 * `forks: approve` it opens it for the approved head sha only.
 */

const short = (sha: string) => sha.slice(0, 7);

function forkBlocker(desired: DesiredState, policy: Policy): string | undefined {
  if (!desired.fork || policy.forks === "always") return undefined;
  if (policy.forks === "never") return "PRs from forks do not get an environment here (policy forks: never).";
  if (desired.approvedSha === desired.headSha) return undefined;
  return desired.approvedSha === undefined
    ? "This PR comes from a fork: someone with write access must approve it with `/preview deploy`."
    : `The approval covered ${short(desired.approvedSha)}; the new head ${short(desired.headSha)} needs \`/preview deploy\` again.`;
}

/** Why a new environment is not created. */
export function creationBlocker(desired: DesiredState, policy: Policy): string | undefined {
  const fork = forkBlocker(desired, policy);
  if (fork !== undefined) return fork;
  const deployed = desired.approvedSha !== undefined;
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
