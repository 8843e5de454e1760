import { z } from "zod";

/**
 * An intent is what a webhook, a slash-command or an operator asked for. The
 * handlers only append intents to an environment's inbox (one store round
 * trip); the reconciler folds the inbox into the desired state under its
 * lease. `at` is the time of the fact on GitHub's side (the PR's
 * `updated_at`, `closed_at`, the comment's `created_at`), which is what
 * orders out-of-order deliveries.
 */

const prFacts = {
  repo: z.string(),
  installationId: z.number().int().nonnegative(),
  headSha: z.string(),
  headRef: z.string(),
  fork: z.boolean(),
  draft: z.boolean(),
  labels: z.array(z.string()),
};

export const intentSchema = z.discriminatedUnion("type", [
  /** opened, reopened, ready_for_review, converted_to_draft, labeled, unlabeled: the PR as it now is. */
  z.object({ type: z.literal("open"), at: z.string(), ...prFacts }),
  /** synchronize: a push. Renews the TTL and re-runs `onUpdate` steps. */
  z.object({ type: z.literal("push"), at: z.string(), ...prFacts }),
  /** closed, `/preview destroy`, installation removed, CLI teardown. */
  z.object({ type: z.literal("close"), at: z.string(), reason: z.string() }),
  /** `/preview extend [d]` or CLI extend; `byMs` absent means the template TTL. */
  z.object({ type: z.literal("extend"), at: z.string(), byMs: z.number().int().positive().optional(), actor: z.string() }),
  /** `/preview redeploy`. */
  z.object({ type: z.literal("redeploy"), at: z.string(), actor: z.string() }),
  /** `/preview deploy`: provision where policy did not; for a fork, only for `sha`. */
  z.object({ type: z.literal("approve"), at: z.string(), sha: z.string(), actor: z.string() }),
  /** `/preview status`: refresh the comment. */
  z.object({ type: z.literal("refresh"), at: z.string() }),
  /**
   * Where the GitHub layer showed the environment, as releases before the
   * notifier's own record (StateStore.recordShown) reported it. Still read,
   * so an inbox they wrote loads; folding drops it.
   */
  z.object({
    type: z.literal("shown"),
    at: z.string(),
    commentId: z.number().int().optional(),
    deployment: z.object({ sha: z.string(), id: z.number().int() }).optional(),
  }),
]);
export type Intent = z.infer<typeof intentSchema>;

/**
 * The `reason` of a `close`. `/preview deploy` brings an environment back
 * after a destroy, an operator's teardown or an expiry, never after the PR
 * closed or the app lost the repository.
 */
export const CLOSE_REASONS = {
  prClosed: "closed",
  destroy: "destroy",
  uninstalled: "uninstalled",
  operator: "operator",
  expired: "expired",
} as const;
export type CloseReason = (typeof CLOSE_REASONS)[keyof typeof CLOSE_REASONS];
export type IntentType = Intent["type"];
