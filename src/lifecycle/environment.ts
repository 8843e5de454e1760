import { z } from "zod";
import { FORK_POLICIES } from "../config/policy.js";

/**
 * The environment record as the store holds it (DESIGN §3). Every field is
 * validated with zod when read back, so a hand-edited or older record fails
 * loudly instead of steering the reconciler wrong.
 */

export const STATUSES = [
  "pending",
  "queued",
  "provisioning",
  "ready",
  "failed",
  "tearing_down",
  "deleted",
] as const;
export const statusSchema = z.enum(STATUSES);
export type Status = z.infer<typeof statusSchema>;

/** Statuses in which the environment may own real resources. */
export const LIVE_STATUSES: readonly Status[] = ["pending", "queued", "provisioning", "ready", "failed", "tearing_down"];

/** An environment is named by its repository's numeric id (stable across renames) and its PR number. */
export interface EnvKey {
  readonly repoId: number;
  readonly pr: number;
}

export function envId(pr: number): string {
  return `pr-${pr}`;
}

export function sameEnv(a: EnvKey, b: EnvKey): boolean {
  return a.repoId === b.repoId && a.pr === b.pr;
}

/** A step as teardown needs it: which provider, with what; never a step's `env` (it may carry an operator secret). */
const undoStepSchema = z.object({
  name: z.string(),
  run: z.string().optional(),
  uses: z.string().optional(),
  with: z.record(z.string(), z.unknown()).optional(),
  timeoutMs: z.number().int().positive().optional(),
});

/**
 * What undoing an environment takes (DESIGN §7: the template is fixed when
 * the environment is created): the teardown commands of its template as it
 * was last set up, and every setup step it has had, so a teardown needs
 * neither the repository's file nor the operator's template of today.
 */
export const undoPlanSchema = z.object({
  steps: z.array(undoStepSchema),
  teardown: z.array(undoStepSchema),
});
export type UndoPlan = z.infer<typeof undoPlanSchema>;

export const envConfigSchema = z.object({
  /** `owner/name` at the time of the last event; the id is what identifies it. */
  repo: z.string(),
  repoId: z.number().int().positive(),
  installationId: z.number().int().nonnegative(),
  pr: z.number().int().positive(),
  /** The head the steps are built for: a fork head no approval covers never gets here (DESIGN §6). */
  headSha: z.string(),
  headRef: z.string(),
  fork: z.boolean(),
  /** The fork policy in force when last written (absent: `approve`): whether a fork head needs an approval to renew the TTL. */
  forks: z.enum(FORK_POLICIES).optional(),
  /** The template's name, fixed when the environment is created: a repository's file that names another one applies to new environments. */
  template: z.string(),
  /** Absent in records written before it existed: teardown then reads the operator's template by name. */
  undo: undoPlanSchema.optional(),
  /** The template TTL in force for this environment, in milliseconds. */
  ttlMs: z.number().int().positive(),
  /** The template's cap for `/preview extend`, counted from now, in milliseconds. */
  maxTtlMs: z.number().int().positive().optional(),
});
export type EnvConfig = z.infer<typeof envConfigSchema>;

/**
 * What setup produced that the PR and the operators see (DESIGN §3): the
 * environment's URL (once ready), the steps' non-secret outputs, the comment
 * and the deployment. Secret outputs are only in the checkpoints, sealed.
 */
export const artifactsSchema = z.object({
  url: z.string().optional(),
  commentId: z.number().int().optional(),
  /**
   * The GitHub deployment of the head sha (DESIGN §5: one per sha), by sha.
   * Only the newest sha's is kept: an older one is found again on GitHub
   * when it is needed, so the record does not grow with every push.
   */
  deployments: z.record(z.string(), z.number().int()).default({}),
  /** Non-secret outputs of setup steps, by step name. */
  outputs: z.record(z.string(), z.record(z.string(), z.string())).default({}),
  /** The last error shown on the PR: which step, and the tail of its output. */
  error: z.object({ step: z.string(), message: z.string() }).optional(),
  /** Expiry time for which the "about to expire" reply was posted. */
  warnedFor: z.string().optional(),
  /** Why the environment was not created (policy, invalid repository config), shown on the PR. */
  blocked: z.string().optional(),
  /** 1-based place in the admission queue while `queued`. */
  queuePosition: z.number().int().positive().optional(),
  /** The reconciler's own bookkeeping; not shown on the PR. */
  progress: z
    .object({
      /** When the environment first asked for a place (ms): its order in the admission queue. */
      arrivalAt: z.number().int().nonnegative().optional(),
      /**
       * Setup steps that have started at least once, completed or not: teardown
       * destroys each of them, so a crash mid-step still cleans up.
       */
      started: z.array(z.string()).default([]),
      /** Teardown actions already done in the current teardown, so a resumed one does not repeat them. */
      tornDown: z.array(z.string()).default([]),
      /** The action being retried after a failure, and when it may run again. */
      retry: z.object({ action: z.string(), sha: z.string(), attempts: z.number().int().positive(), nextAt: z.number() }).optional(),
      /** Setup gave up for this head sha and redeploy generation: wait for a push or a redeploy. */
      failedFor: z.object({ sha: z.string(), generation: z.number().int().nonnegative() }).optional(),
    })
    .optional(),
});
export type Artifacts = z.infer<typeof artifactsSchema>;
export type Progress = NonNullable<Artifacts["progress"]>;

export const checkpointSchema = z.object({
  sha: z.string(),
  /** When the step completed; written by earlier versions only (the event log has it: `step_completed`). */
  at: z.string().optional(),
  /** Outputs as the store keeps them: secrets only in sealed form (see providers). */
  outputs: z.record(z.string(), z.string()).default({}),
  /** The redeploy generation the step ran for (absent: 0); a later `/preview redeploy` re-runs it. */
  generation: z.number().int().nonnegative().optional(),
});
export type Checkpoint = z.infer<typeof checkpointSchema>;
export const checkpointsSchema = z.record(z.string(), checkpointSchema);
export type Checkpoints = z.infer<typeof checkpointsSchema>;

export const eventLogEntrySchema = z.object({
  at: z.string(),
  event: z.string(),
  detail: z.string().optional(),
});
export type EventLogEntry = z.infer<typeof eventLogEntrySchema>;
