import type { Template } from "../config/template-schema.js";
import { providerFor } from "./provider.js";
import { retryDelayMs } from "./backoff.js";
import { abortable } from "./abortable.js";
import { describeFailure } from "./errors.js";
import type { Iteration, Next } from "./iteration.js";
import { lifecycleEvent } from "./notifier.js";
import { idleDueAt, targetOf } from "./plan.js";
import type { EnvSettings } from "./settings.js";
import { baseFields, type SetupBase } from "./setup-base.js";
import { checkpointOf, stepContext } from "./step-context.js";
import { toIso } from "./ttl.js";

/**
 * One setup step: mark it started (so teardown destroys it even if this
 * worker dies mid-step), run it with a signal that aborts when the lease is
 * lost or a close arrives, then checkpoint its outputs (secrets sealed). A
 * failure is retried with backoff up to the bound, then the environment is
 * `failed` with the step's error.
 */

type SetupStep = Template["steps"][number];

export interface StepParams {
  it: Iteration;
  base: SetupBase;
  settings: EnvSettings;
  step: SetupStep;
}

export async function runSetupStep(params: StepParams): Promise<Next> {
  const { it, base, step } = params;
  const now = it.engine.now();
  const started = base.progress.started.includes(step.name) ? base.progress.started : [...base.progress.started, step.name];
  await it.commit({
    set: { ...baseFields(base, { progress: { started } }), status: "provisioning" },
    events: [lifecycleEvent("step_started", now, step.name)],
    dueAt: it.workingDueAt(),
    keyTtlMs: it.liveTtl(base.expiresAt),
  });
  const markedBase: SetupBase = { ...base, progress: { ...base.progress, started } };
  const attempt = await abortable(it, { stopForTeardown: true }, (signal) => {
    const ctx = stepContext({ config: base.config, expiresAt: toIso(base.expiresAt), checkpoints: base.checkpoints, phase: "setup", sealer: it.engine.deps.sealer, signal, log: it.run.log });
    return providerFor(step, it.engine.deps.providers).create(step, ctx);
  });
  if (attempt.kind === "stopped") return attempt.next;
  if (attempt.kind === "failed") return recordFailure({ ...params, base: markedBase }, attempt.error);
  const { deps } = it.engine;
  const done = it.engine.now();
  const checkpoint = checkpointOf({ outcome: attempt.value, target: targetOf(base.desired), sealer: deps.sealer });
  const completed: SetupBase = {
    ...markedBase,
    checkpoints: { ...base.checkpoints, [step.name]: checkpoint },
    artifacts: { ...markedBase.artifacts, outputs: { ...markedBase.artifacts.outputs, [step.name]: { ...attempt.value.outputs } } },
  };
  await it.commit({
    set: baseFields(completed, { artifacts: { error: undefined }, progress: { retry: undefined } }),
    events: [lifecycleEvent("step_completed", done, step.name)],
    dueAt: it.workingDueAt(),
    keyTtlMs: it.liveTtl(base.expiresAt),
  });
  return "again";
}

async function recordFailure(params: StepParams, error: unknown): Promise<Next> {
  const { it, base, settings, step } = params;
  const { retry: policy } = it.engine.options;
  const now = it.engine.now();
  const failure = describeFailure(error);
  const target = targetOf(base.desired);
  const previous = base.progress.retry;
  const attempts = previous?.action === step.name && previous.sha === target.sha ? previous.attempts + 1 : 1;
  const artifacts = { error: { step: step.name, message: failure.message } };
  const keyTtlMs = it.liveTtl(base.expiresAt);
  it.run.log.warn({ step: step.name, attempts, terminal: failure.terminal, error: failure.message }, "setup step failed");
  if (failure.terminal || attempts >= policy.maxAttempts) {
    await it.commit({
      set: { ...baseFields(base, { artifacts, progress: { retry: undefined, failedFor: target } }), status: "failed" },
      events: [lifecycleEvent("failed", now, step.name)],
      dueAt: idleDueAt({ expiresAt: base.expiresAt, warnBeforeMs: settings.template.warnBeforeMs, warnedFor: base.artifacts.warnedFor }),
      keyTtlMs,
    });
    return "settled";
  }
  const nextAt = now + retryDelayMs(attempts, policy, it.engine.random);
  await it.commit({
    set: baseFields(base, { artifacts, progress: { retry: { action: step.name, sha: target.sha, attempts, nextAt } } }),
    events: [lifecycleEvent("step_retry", now, `${step.name}: attempt ${attempts} failed`)],
    dueAt: nextAt,
    keyTtlMs,
  });
  return "settled";
}
