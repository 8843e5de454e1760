import type { Checkpoint, Checkpoints, EnvConfig } from "./environment.js";
import type { OutputsByStep, Phase, ProviderLogger, StepContext, StepOutcome } from "./provider.js";
import { isSealed, UnsealError, type Sealer } from "./sealing.js";
import type { Target } from "./plan.js";

/**
 * Between the store and the providers: what a step is told (earlier steps'
 * outputs, secrets unsealed) and what is kept of what it returned (secrets
 * sealed, never plain text in the store).
 */

export function stepContext(params: {
  config: EnvConfig;
  expiresAt: string;
  checkpoints: Checkpoints;
  phase: Phase;
  sealer: Sealer;
  /**
   * Given (teardown), a secret that cannot be unsealed (its key was rotated
   * away) is left out and its `step.output` name added here, so undoing an
   * environment never depends on a key; absent (setup), it fails the step.
   */
  unreadableSecrets?: string[];
  signal: AbortSignal;
  log: ProviderLogger;
}): StepContext {
  const { config, checkpoints, sealer, unreadableSecrets } = params;
  const secrets: Record<string, Record<string, string>> = {};
  for (const [step, checkpoint] of Object.entries(checkpoints)) {
    for (const [name, value] of Object.entries(checkpoint.outputs)) {
      if (!isSealed(value)) continue;
      try {
        (secrets[step] ??= {})[name] = sealer.unseal(value);
      } catch (error) {
        if (unreadableSecrets === undefined || !(error instanceof UnsealError)) throw error;
        unreadableSecrets.push(`${step}.${name}`);
      }
    }
  }
  return {
    repo: config.repo,
    repoId: config.repoId,
    pr: config.pr,
    sha: config.headSha,
    ref: config.headRef,
    expiresAt: params.expiresAt,
    phase: params.phase,
    outputs: plainOutputs(checkpoints),
    secrets,
    signal: params.signal,
    log: params.log,
  };
}

/** The non-secret outputs of the completed steps, by step: what later steps and the environment's URL are made of. */
export function plainOutputs(checkpoints: Checkpoints): OutputsByStep {
  const outputs: Record<string, Record<string, string>> = {};
  for (const [step, checkpoint] of Object.entries(checkpoints)) {
    for (const [name, value] of Object.entries(checkpoint.outputs)) {
      if (!isSealed(value)) (outputs[step] ??= {})[name] = value;
    }
  }
  return outputs;
}

/**
 * What the store keeps of a completed step: the sha and the redeploy
 * generation it ran for (absent: 0) and its outputs, secrets sealed. When
 * it completed is in the event log (`step_completed`).
 */
export function checkpointOf(params: { outcome: StepOutcome; target: Target; sealer: Sealer }): Checkpoint {
  const { outcome, target, sealer } = params;
  const sealed = Object.fromEntries(Object.entries(outcome.secrets).map(([name, value]) => [name, sealer.seal(value)]));
  return { sha: target.sha, ...(target.generation > 0 && { generation: target.generation }), outputs: { ...outcome.outputs, ...sealed } };
}

/** The environment's URL: the `url` output of any step, the last one in template order winning. */
export function environmentUrl(steps: ReadonlyArray<{ name: string }>, outputs: OutputsByStep): string | undefined {
  let url: string | undefined;
  for (const step of steps) url = outputs[step.name]?.url ?? url;
  return url;
}
