import { z } from "zod";
import { strictObject } from "./fields.js";

/**
 * When a PR gets an environment. The operator sets the policy; a repository
 * may only make it stricter. Each list runs from the strictest value to the
 * loosest, and that order is what "stricter" means.
 */
export const FORK_POLICIES = ["never", "approve", "always"] as const;
const DRAFT_POLICIES = ["skip", "provision"] as const;
const TRIGGERS = ["label", "auto"] as const;

const ORDERED = { forks: FORK_POLICIES, drafts: DRAFT_POLICIES, trigger: TRIGGERS } as const;

/** GitHub's own limit on a label's name. */
const labelField = z.string().min(1).max(50);

export const operatorPolicySchema = strictObject({
  /**
   * PRs from forks run code nobody with access has reviewed. `never`: no
   * environment; `approve`: only after `/preview deploy` by someone with
   * write access, for the head sha they approved; `always`: like any PR.
   */
  forks: z.enum(FORK_POLICIES).default("approve"),
  /** Draft PRs: `skip` until ready for review, or `provision` them too. */
  drafts: z.enum(DRAFT_POLICIES).default("skip"),
  /** `auto`: every PR (within the rules above); `label`: only PRs carrying `label`. */
  trigger: z.enum(TRIGGERS).default("auto"),
  /** The label that asks for an environment when `trigger` is `label`. */
  label: labelField.default("preview"),
});
export type Policy = z.output<typeof operatorPolicySchema>;

/** A repository's policy: the same fields, each optional, none looser than the operator's. */
export const repoPolicySchema = strictObject({
  forks: z.enum(FORK_POLICIES).optional(),
  drafts: z.enum(DRAFT_POLICIES).optional(),
  trigger: z.enum(TRIGGERS).optional(),
  label: labelField.optional(),
});
export type RepoPolicy = z.output<typeof repoPolicySchema>;

/**
 * The operator's policy with the repository's choices applied, or one
 * message per field where the repository asked for something looser.
 */
export function applyRepoPolicy(operator: Policy, repo: RepoPolicy): { policy: Policy; errors: string[] } {
  const errors: string[] = [];
  for (const field of ["forks", "drafts", "trigger"] as const) {
    const order: readonly string[] = ORDERED[field];
    const wanted = repo[field];
    if (wanted !== undefined && order.indexOf(wanted) > order.indexOf(operator[field])) {
      errors.push(
        `policy.${field}: "${wanted}" is looser than the operator's "${operator[field]}"; ` +
          `a repository may only make it stricter (strictest first: ${order.join(", ")})`,
      );
    }
  }
  return { policy: { ...operator, ...repo }, errors };
}
