import { z } from "zod";

/** Most deployments remembered per PR: the newest ones; an older sha's is found on GitHub again when needed. */
export const SHOWN_DEPLOYMENTS_LIMIT = 10;

/**
 * Where the PR shows the environment (DESIGN §5): the ids the GitHub layer
 * learnt, kept in a key of their own (`github`) that only the notifier
 * writes, under its `notify_lock`, so no reconciler commit can overwrite
 * them. The digests say what was last written there (the comment body, the
 * deployment status), so that an unchanged one costs no call, whichever
 * replica wrote it. Nothing in it is secret: ids and hashes.
 */
export const shownSchema = z.object({
  /** The sticky comment, and the digest of the body last written to it. */
  comment: z.object({ id: z.number().int().positive(), digest: z.string().max(64).optional() }).optional(),
  /** Deployments made for the PR, oldest first: by head sha, with the digest of the status last posted. */
  deployments: z
    .array(z.object({ sha: z.string().max(64), id: z.number().int().positive(), status: z.string().max(64).optional() }))
    .max(SHOWN_DEPLOYMENTS_LIMIT)
    .default([]),
  /** Once torn down: every deployment of the PR was listed and posted `inactive`. Until then a catch-up looks again. */
  inactive: z.literal(true).optional(),
});
export type Shown = z.infer<typeof shownSchema>;
