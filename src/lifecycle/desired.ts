import { z } from "zod";

/**
 * The desired state of one environment: the inbox of intents folded into
 * last-writer-wins registers ordered by GitHub's own timestamps, so a late
 * or repeated delivery cannot roll anything back.
 */
export const desiredStateSchema = z.object({
  /** The PR is open and wants an environment (subject to policy). */
  open: z.boolean(),
  /** GitHub time of the fact that last set `open`; a close at the same instant wins. */
  openAt: z.string(),
  closeReason: z.string().optional(),
  repo: z.string(),
  installationId: z.number().int().nonnegative(),
  headSha: z.string(),
  headRef: z.string(),
  /** GitHub time of the fact that last set the head; older pushes are ignored. */
  headAt: z.string(),
  fork: z.boolean(),
  draft: z.boolean(),
  labels: z.array(z.string()),
  /** GitHub time of the fact that last set `fork`, `draft` and `labels`; older facts are ignored. */
  factsAt: z.string().optional(),
  /**
   * Per head sha, GitHub's stamp (`pull_request.updated_at`) of the first
   * delivery that named it: later events about the same sha (labels, edits)
   * carry later stamps and do not move it. What an approval is judged by.
   */
  headStamps: z.record(z.string(), z.string()).optional(),
  /** The latest `/preview deploy` comment's `created_at`: it covers every head stamped no later. */
  approvedAt: z.string().optional(),
  /** A head sha approved by name (`/preview deploy <sha>`): covered whenever it is the head. */
  approvedSha: z.string().optional(),
  /** Bumped by `/preview redeploy`; setup re-runs every step when it is ahead of what ran. */
  redeployGeneration: z.number().int().nonnegative().default(0),
});
export type DesiredState = z.infer<typeof desiredStateSchema>;
