import type { Outcome } from "../commit.js";
import type { ReconcileContext } from "../engine.js";
import { lifecycleEvent } from "../notifier.js";
import { targetOf, type SetupAction } from "../plan.js";
import { providerFor, type StepSpec } from "../provider.js";
import { awaitReadiness } from "../readiness.js";
import { baseFields, type SetupBase } from "../setup-base.js";
import { environmentUrl, stepContext } from "../step-context.js";
import { toIso } from "../ttl.js";
import { runWatched } from "./watched.js";

/**
 * Every step is done for the head: the environment is `ready`, and its URL
 * published, once the template's readiness check passes; when it never passes
 * within its timeout the environment is `failed` with the check's last answer.
 */
export async function goReady(ctx: ReconcileContext, action: SetupAction & { kind: "go-ready" }): Promise<Outcome> {
  const { base, settings } = action;
  const { readiness, steps } = settings.template;
  const url = environmentUrl(steps, base.artifacts.outputs);
  if (readiness !== undefined) {
    const check = await runWatched(ctx, { stopForTeardown: true }, (signal) =>
      awaitReadiness({
        readiness,
        url,
        runCheck: (trySignal) => runReadinessCommand(ctx, base, readiness.run ?? "", trySignal),
        probe: ctx.readinessProbe,
        signal,
        now: ctx.now,
      }),
    );
    if (check.kind === "interrupted") return check.interruption;
    const failed = check.kind === "failed" ? String(check.error) : check.value.ready ? undefined : check.value.lastAnswer;
    if (failed !== undefined) {
      return {
        set: { ...baseFields(base, { artifacts: { error: { step: "readiness", message: failed } }, progress: { failedFor: targetOf(base.desired) } }), status: "failed" },
        events: [lifecycleEvent("failed", ctx.now(), "readiness")],
        requeueAt: action.idleDueAt,
      };
    }
  }
  return {
    set: { ...baseFields(base, { artifacts: { url, error: undefined, blocked: undefined }, progress: { failedFor: undefined } }), status: "ready" },
    events: [lifecycleEvent("ready", ctx.now(), url)],
    requeueAt: action.idleDueAt,
  };
}

/** A `run` readiness check is a command like a step's, with the environment's variables; exit 0 passes. */
async function runReadinessCommand(ctx: ReconcileContext, base: SetupBase, command: string, signal: AbortSignal): Promise<void> {
  const step: StepSpec = { name: "readiness", run: command };
  const stepCtx = stepContext({ config: base.config, expiresAt: toIso(base.expiresAt), checkpoints: base.checkpoints, phase: "setup", sealer: ctx.sealer, signal, log: ctx.log });
  await providerFor(step, ctx.providers).create(step, stepCtx);
}
