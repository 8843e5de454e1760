import { providerFor, type StepSpec } from "./provider.js";
import type { Iteration, Next } from "./iteration.js";
import { lifecycleEvent } from "./notifier.js";
import { idleDueAt, targetOf } from "./plan.js";
import { awaitReadiness } from "./readiness.js";
import { abortable } from "./abortable.js";
import type { EnvSettings } from "./settings.js";
import { baseFields, type SetupBase } from "./setup-base.js";
import { environmentUrl, stepContext } from "./step-context.js";
import { toIso } from "./ttl.js";

/**
 * Every step is done for the head: the environment is `ready`, and its URL
 * published, once the template's readiness check passes; when it never passes
 * within its timeout the environment is `failed` with the check's last answer.
 */
export async function settle(params: { it: Iteration; base: SetupBase; settings: EnvSettings }): Promise<Next> {
  const { it, base, settings } = params;
  const { readiness, steps } = settings.template;
  const url = environmentUrl(steps, base.artifacts.outputs);
  const dueAt = idleDueAt({ expiresAt: base.expiresAt, warnBeforeMs: settings.template.warnBeforeMs, warnedFor: base.artifacts.warnedFor });
  const keyTtlMs = it.liveTtl(base.expiresAt);
  if (readiness !== undefined) {
    const check = await abortable(it, { stopForTeardown: true }, (signal) =>
      awaitReadiness({
        readiness,
        url,
        runCheck: (trySignal) => runReadinessCommand(it, base, readiness.run ?? "", trySignal),
        probe: it.engine.readinessProbe,
        signal,
        now: it.engine.now,
      }),
    );
    if (check.kind === "stopped") return check.next;
    const failed = check.kind === "failed" ? String(check.error) : check.value.ready ? undefined : check.value.lastAnswer;
    if (failed !== undefined) {
      await it.commit({
        set: { ...baseFields(base, { artifacts: { error: { step: "readiness", message: failed } }, progress: { failedFor: targetOf(base.desired) } }), status: "failed" },
        events: [lifecycleEvent("failed", it.engine.now(), "readiness")],
        dueAt,
        keyTtlMs,
      });
      return "settled";
    }
  }
  await it.commit({
    set: { ...baseFields(base, { artifacts: { url, error: undefined, blocked: undefined }, progress: { failedFor: undefined } }), status: "ready" },
    events: [lifecycleEvent("ready", it.engine.now(), url)],
    dueAt,
    keyTtlMs,
  });
  return "settled";
}

/** A `run` readiness check is a command like a step's, with the environment's variables; exit 0 passes. */
async function runReadinessCommand(it: Iteration, base: SetupBase, command: string, signal: AbortSignal): Promise<void> {
  const step: StepSpec = { name: "readiness", run: command };
  const ctx = stepContext({ config: base.config, expiresAt: toIso(base.expiresAt), checkpoints: base.checkpoints, phase: "setup", sealer: it.engine.deps.sealer, signal, log: it.run.log });
  await providerFor(step, it.engine.deps.providers).create(step, ctx);
}
