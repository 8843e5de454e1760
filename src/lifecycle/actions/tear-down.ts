import type { Outcome, Round, Result } from "../commit.js";
import type { DesiredState } from "../desired.js";
import type { ReconcileContext } from "../engine.js";
import type { Artifacts, EventLogEntry, Progress, UndoPlan } from "../environment.js";
import { describeFailure } from "../errors.js";
import { lifecycleEvent } from "../notifier.js";
import { planTeardownFailure, planTeardownStep, type TeardownAction } from "../plan.js";
import { providerFor } from "../provider.js";
import { stepContext } from "../step-context.js";
import { toIso } from "../ttl.js";
import { releasePlace } from "./admit.js";
import { runWatched } from "./watched.js";

/**
 * Teardown (DESIGN §4): under `teardown_lock`, so exactly one worker does it
 * at a time, and each action is recorded when done, so a teardown cut short
 * by a crash resumes where it stopped (the environment stays due). A failing
 * action is retried with backoff for as long as it takes (see
 * `planTeardownFailure`). At the end the environment leaves the active set, its
 * waiters are woken, and `deleted` stays as a tombstone.
 */

const NO_PROGRESS: Progress = { started: [], tornDown: [] };

export async function tearDown(ctx: ReconcileContext, round: Round, desired: DesiredState | undefined): Promise<Outcome> {
  if (!(await round.lockForTeardown())) {
    // Another worker tears it down, or died doing so: its lock runs out and this one resumes.
    return { interrupted: "stop", requeueAt: ctx.now() + ctx.options.busyRetryMs };
  }
  const resuming = round.status === "tearing_down";
  const recorded = round.fields.artifacts?.progress ?? NO_PROGRESS;
  let progress: Progress = resuming ? recorded : { ...recorded, tornDown: [], retry: undefined };
  const artifacts = (): Artifacts => ({ ...(round.fields.artifacts ?? { deployments: {}, outputs: {} }), progress });
  if (!resuming) {
    await round.commit({
      set: { desired, status: "tearing_down", artifacts: { ...artifacts(), url: undefined } },
      events: [lifecycleEvent("teardown_started", ctx.now(), desired?.closeReason ?? "closed")],
      requeueAt: "now",
    });
  }
  const undo = undoPlan(ctx, round, progress);
  for (;;) {
    const next = planTeardownStep({ undo, progress, now: ctx.now() });
    if (next.kind === "finish") return finish(ctx, round, desired);
    if (next.kind === "wait") return { set: { desired }, requeueAt: next.until };
    const { action } = next;
    const attempt = await runWatched(ctx, { stopForTeardown: false }, (signal) => perform(ctx, round, action, signal));
    if (attempt.kind === "interrupted") return attempt.interruption;
    if (attempt.kind === "failed") {
      const { attempts, nextAt } = planTeardownFailure({ attempts: next.attempts, policy: ctx.retry, now: ctx.now(), random: ctx.random });
      const message = describeFailure(attempt.error).message;
      ctx.log.warn({ action: action.id, attempts, error: message }, "teardown action failed; retrying with backoff");
      progress = { ...progress, retry: { action: action.id, sha: round.fields.config?.headSha ?? "", attempts, nextAt } };
      return {
        set: { desired, artifacts: { ...artifacts(), error: { step: action.step.name, message } } },
        events: [lifecycleEvent("teardown_retry", ctx.now(), `${action.id}: attempt ${attempts} failed`)],
        requeueAt: nextAt,
      };
    }
    progress = { ...progress, tornDown: [...progress.tornDown, action.id], retry: undefined };
    const events = [lifecycleEvent("teardown_step", ctx.now(), action.id)];
    if (attempt.value.length > 0) events.unshift(ranWithoutSecrets(ctx, action, attempt.value));
    await round.commit({ set: { desired, artifacts: artifacts() }, events, requeueAt: "now" });
  }
}

/**
 * The environment's own template says how to undo each step, as recorded
 * when it was set up: a repository's file cannot change that, nor the
 * operator removing the template, nor an uninstalled app stop it.
 */
function undoPlan(ctx: ReconcileContext, round: Round, progress: Progress): UndoPlan {
  if (progress.started.length === 0) return { steps: [], teardown: [] };
  const { template: name, undo } = round.fields.config ?? { template: "" };
  const plan = undo ?? ctx.settings.template(name);
  if (plan === undefined) throw new Error(`cannot tear down: template "${name}" is not in the operator config any more and this environment predates recording it; restore it`);
  return plan;
}

/**
 * Runs one action; returns the secret outputs it had to go without. A key
 * rotated away must not strand a teardown: commands get what can still be
 * unsealed, and a provider's destroy works from the environment's key.
 */
async function perform(ctx: ReconcileContext, round: Round, action: TeardownAction, signal: AbortSignal): Promise<string[]> {
  const { fields } = round;
  if (fields.config === undefined) throw new Error("an environment with started steps has no config");
  const unreadableSecrets: string[] = [];
  const stepCtx = stepContext({
    config: fields.config,
    expiresAt: fields.expires_at ?? toIso(ctx.now()),
    checkpoints: fields.checkpoints ?? {},
    phase: "teardown",
    sealer: ctx.sealer,
    unreadableSecrets,
    signal,
    log: ctx.log,
  });
  const provider = providerFor(action.step, ctx.providers);
  if (action.kind === "destroy") {
    await provider.destroy(action.step, stepCtx);
    return [];
  }
  await provider.create(action.step, stepCtx);
  return unreadableSecrets;
}

function ranWithoutSecrets(ctx: ReconcileContext, action: TeardownAction, secrets: readonly string[]): EventLogEntry {
  const why = "they were sealed with a key the app no longer has (EPHEMERA_SECRET_KEY, or WEBHOOK_SECRET when it is unset, was changed without listing the old key after the new one)";
  ctx.log.warn({ action: action.id, secrets }, `teardown command ran without secret outputs: ${why}`);
  return lifecycleEvent("teardown_without_secrets", ctx.now(), `${action.id} ran without ${secrets.join(", ")}: ${why}`);
}

/** Leaves the active set, wakes the waiters, and leaves a `deleted` tombstone that is never due. */
export async function finish(ctx: ReconcileContext, round: Round, desired: DesiredState | undefined): Promise<Result> {
  await releasePlace(ctx);
  const previous = round.fields.artifacts;
  const reason = desired?.closeReason ?? "closed";
  return {
    set: { ...(desired && { desired }), status: "deleted", checkpoints: {}, artifacts: { commentId: previous?.commentId, deployments: previous?.deployments ?? {}, outputs: {} } },
    // Nothing was ever shown for an environment that never existed.
    events: round.status === "new" ? [] : [lifecycleEvent("deleted", ctx.now(), reason)],
    requeueAt: null,
  };
}
