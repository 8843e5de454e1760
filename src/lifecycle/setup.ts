import type { DesiredState } from "./desired.js";
import { admit, releasePlace } from "./admission.js";
import type { Iteration, Next } from "./iteration.js";
import { lifecycleEvent } from "./notifier.js";
import { idleDueAt, planSetup } from "./plan.js";
import { runSetupStep } from "./run-step.js";
import type { EnvSettings } from "./settings.js";
import { settle } from "./settle.js";
import { baseFields, setupBase, type SetupBase } from "./setup-base.js";
import { toIso } from "./ttl.js";

/**
 * Drives an open environment one decision further (see `planSetup`): blocked
 * by policy, queued for admission, a step, readiness, the expiry warning, or
 * nothing until it is due again.
 */

export async function advanceSetup(it: Iteration, settings: EnvSettings, desired: DesiredState): Promise<Next> {
  const base = setupBase(it, settings, desired);
  const now = it.engine.now();
  const decision = planSetup({
    now,
    status: it.status,
    desired,
    template: settings.template,
    policy: settings.policy,
    checkpoints: base.checkpoints,
    progress: base.progress,
    expiresAt: base.expiresAt,
    warnedFor: base.artifacts.warnedFor,
  });
  const idleDue = () => idleDueAt({ expiresAt: base.expiresAt, warnBeforeMs: settings.template.warnBeforeMs, warnedFor: base.artifacts.warnedFor });
  const keyTtlMs = it.liveTtl(base.expiresAt);
  const refresh = it.assessment.refresh ? [lifecycleEvent("refresh", now)] : [];
  switch (decision.kind) {
    case "blocked":
      await block(it, base, decision.reason);
      return "settled";
    case "hold": {
      const events = base.artifacts.blocked === decision.reason ? refresh : [lifecycleEvent("held", now, decision.reason)];
      await it.commit({ set: baseFields(base, { artifacts: { blocked: decision.reason } }), events, dueAt: idleDue(), keyTtlMs });
      return "settled";
    }
    case "admit":
      return admit(it, base, settings);
    case "wait":
      await it.commit({ set: baseFields(base), events: refresh, dueAt: decision.until, keyTtlMs });
      return "settled";
    case "run":
      return runSetupStep({ it, base, settings, step: decision.step });
    case "settle":
      return settle({ it, base, settings });
    case "warn": {
      const warnedFor = toIso(base.expiresAt);
      await it.commit({ set: baseFields(base, { artifacts: { warnedFor } }), events: [lifecycleEvent("expiry_warning", now, warnedFor)], dueAt: base.expiresAt, keyTtlMs });
      return "again";
    }
    case "idle":
      await it.commit({ set: baseFields(base, { artifacts: { blocked: undefined } }), events: refresh, dueAt: idleDue(), keyTtlMs });
      return "settled";
  }
}

/** Not created, because …: `pending` with the reason, until something changes or it expires. */
async function block(it: Iteration, base: SetupBase, reason: string): Promise<void> {
  const now = it.engine.now();
  if (it.status === "queued") await releasePlace(it);
  const events = base.artifacts.blocked === reason ? [] : [lifecycleEvent("blocked", now, reason)];
  await it.commit({
    set: { ...baseFields(base, { artifacts: { blocked: reason, queuePosition: undefined } }), status: "pending" },
    events: it.assessment.refresh && events.length === 0 ? [lifecycleEvent("refresh", now)] : events,
    dueAt: base.expiresAt,
    keyTtlMs: it.liveTtl(base.expiresAt),
  });
}
