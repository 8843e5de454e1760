import type { Outcome, Round, Result } from "../commit.js";
import type { ReconcileContext } from "../engine.js";
import { describeFailure } from "../errors.js";
import { lifecycleEvent } from "../notifier.js";
import { planStepFailure, targetOf, type SetupAction } from "../plan.js";
import { providerFor } from "../provider.js";
import { baseFields, type SetupBase } from "../setup-base.js";
import { checkpointOf, stepContext } from "../step-context.js";
import { toIso } from "../ttl.js";
import { runWatched } from "./watched.js";

/**
 * One setup step: mark it started (so teardown destroys it even if this
 * worker dies mid-step), run it with a signal that aborts when the lease is
 * lost or a close arrives, then checkpoint its outputs (secrets sealed). A
 * failure is retried with backoff up to the bound (see `planStepFailure`),
 * then the environment is `failed` with the step's error.
 */
export async function runStep(ctx: ReconcileContext, round: Round, action: SetupAction & { kind: "run-step" }): Promise<Outcome> {
  const { base, step } = action;
  const started = base.progress.started.includes(step.name) ? base.progress.started : [...base.progress.started, step.name];
  await round.commit({
    set: { ...baseFields(base, { progress: { started } }), status: "provisioning" },
    events: [lifecycleEvent("step_started", ctx.now(), step.name)],
    requeueAt: "now",
  });
  const marked: SetupBase = { ...base, progress: { ...base.progress, started } };
  const attempt = await runWatched(ctx, { stopForTeardown: true }, (signal) => {
    const stepCtx = stepContext({ config: base.config, expiresAt: toIso(base.expiresAt), checkpoints: base.checkpoints, phase: "setup", sealer: ctx.sealer, signal, log: ctx.log });
    return providerFor(step, ctx.providers).create(step, stepCtx);
  });
  if (attempt.kind === "interrupted") return attempt.interruption;
  if (attempt.kind === "failed") return stepFailed(ctx, { ...action, base: marked }, attempt.error);
  const checkpoint = checkpointOf({ outcome: attempt.value, target: targetOf(base.desired), sealer: ctx.sealer });
  const completed: SetupBase = {
    ...marked,
    checkpoints: { ...base.checkpoints, [step.name]: checkpoint },
    artifacts: { ...marked.artifacts, outputs: { ...marked.artifacts.outputs, [step.name]: { ...attempt.value.outputs } } },
  };
  return {
    set: baseFields(completed, { artifacts: { error: undefined }, progress: { retry: undefined } }),
    events: [lifecycleEvent("step_completed", ctx.now(), step.name)],
    requeueAt: "now",
  };
}

function stepFailed(ctx: ReconcileContext, action: SetupAction & { kind: "run-step" }, error: unknown): Result {
  const { base, step } = action;
  const now = ctx.now();
  const failure = describeFailure(error);
  const target = targetOf(base.desired);
  const { attempts, nextAt } = planStepFailure({ step: step.name, target, progress: base.progress, terminal: failure.terminal, policy: ctx.retry, now, random: ctx.random });
  const artifacts = { error: { step: step.name, message: failure.message } };
  ctx.log.warn({ step: step.name, attempts, terminal: failure.terminal, error: failure.message }, "setup step failed");
  if (nextAt === undefined) {
    return {
      set: { ...baseFields(base, { artifacts, progress: { retry: undefined, failedFor: target } }), status: "failed" },
      events: [lifecycleEvent("failed", now, step.name)],
      requeueAt: action.idleDueAt,
    };
  }
  return {
    set: baseFields(base, { artifacts, progress: { retry: { action: step.name, sha: target.sha, attempts, nextAt } } }),
    events: [lifecycleEvent("step_retry", now, `${step.name}: attempt ${attempts} failed`)],
    requeueAt: nextAt,
  };
}
