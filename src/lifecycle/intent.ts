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

/** The slash-command verbs (DESIGN §6); the GitHub layer says who may use each. */
export const COMMAND_VERBS = ["help", "status", "extend", "redeploy", "destroy", "deploy"] as const;
export type Verb = (typeof COMMAND_VERBS)[number];

/** A full commit sha, as `/preview deploy <sha>` must name it. */
export const FULL_SHA = /^[0-9a-f]{40}$/;

/** A slash-command as parsed from its comment's first line: what was asked, or why it is not a command. */
export const parsedCommandSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("command"),
    verb: z.enum(COMMAND_VERBS),
    /** `/preview extend <duration>`. */
    durationMs: z.number().int().positive().optional(),
    /** `/preview deploy <sha>`. */
    sha: z.string().regex(FULL_SHA).optional(),
  }),
  /** `reason`: plain words for the commenter, quoting what they typed (bounded by the parser's line limit). */
  z.object({ kind: z.literal("invalid"), reason: z.string().max(2000) }),
]);
export type ParsedCommand = z.infer<typeof parsedCommandSchema>;

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
  /**
   * `/preview deploy [sha]`: provision where policy did not. For a fork it
   * covers the head GitHub stamped no later than `at` (the comment's
   * `created_at`), or, with `sha`, that commit whenever it is the head.
   */
  z.object({ type: z.literal("approve"), at: z.string(), sha: z.string().optional(), actor: z.string() }),
  /**
   * A slash-command, recorded as the webhook gave it and nothing more: who
   * may give it, what it does and the answer on the PR are settled by a
   * worker (see `CommandDesk`), which folds the intents it makes in its
   * place. `at` is the comment's `created_at`.
   */
  z.object({
    type: z.literal("command"),
    at: z.string(),
    commentId: z.number().int().positive(),
    author: z.string().min(1).max(100),
    authorId: z.number().int().nonnegative(),
    /** `owner/name` as the delivery named it, to answer on the PR. */
    repo: z.string().min(1).max(300),
    installationId: z.number().int().nonnegative(),
    command: parsedCommandSchema,
    /** `X-GitHub-Delivery`, for the logs. */
    deliveryId: z.string().max(100),
  }),
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
export type CommandIntent = Extract<Intent, { type: "command" }>;

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
