import { providerFor } from "./provider.js";
import { retryDelayMs } from "./backoff.js";
import type { DesiredState } from "./desired.js";
import type { Artifacts, EventLogEntry, Progress } from "./environment.js";
import { describeFailure } from "./errors.js";
import { closedByExpiry } from "./fold.js";
import type { Iteration, Next } from "./iteration.js";
import { lifecycleEvent } from "./notifier.js";
import { teardownActions, type TeardownAction, type TeardownCause } from "./plan.js";
import { abortable } from "./abortable.js";
import { releasePlace } from "./admission.js";
import { stepContext } from "./step-context.js";
import { toIso } from "./ttl.js";

/**
 * Teardown (DESIGN §4): under `teardown_lock`, so exactly one worker does it
 * at a time, and each action is recorded when done, so a teardown cut short
 * by a crash resumes where it stopped (the environment stays due). A failing
 * action is retried with backoff for as long as it takes: giving up would
 * leak. At the end the environment leaves the active set, its waiters are
 * woken, and `deleted` stays as a tombstone.
 */

const NOTHING_MADE = new Set(["new", "pending", "queued"]);

export async function tearDown(it: Iteration, cause: TeardownCause): Promise<Next> {
  const { assessment } = it;
  const desired = assessment.desired && cause === "expired" && assessment.expiresAt !== undefined
    ? closedByExpiry(assessment.desired, toIso(assessment.expiresAt))
    : assessment.desired;
  const progress: Progress = it.fields.artifacts?.progress ?? { started: [], tornDown: [] };
  if (NOTHING_MADE.has(it.status) && progress.started.length === 0) {
    await finish(it, desired);
    return "settled";
  }
  if (!(await it.run.leases.acquire("teardown_lock"))) {
    // Another worker tears it down, or died doing so: its lock runs out and this one resumes.
    await it.engine.deps.store.markDue(it.run.key, it.engine.now() + it.engine.options.busyRetryMs);
    return "stop";
  }
  it.fence = { name: "teardown_lock", owner: it.engine.owner };
  try {
    return await runActions(it, desired, progress);
  } finally {
    await it.run.leases.release("teardown_lock");
    it.fence = { name: "lease", owner: it.engine.owner };
  }
}

async function runActions(it: Iteration, desired: DesiredState | undefined, initial: Progress): Promise<Next> {
  const now = it.engine.now();
  const expiresAt = it.assessment.expiresAt ?? now;
  let progress = it.status === "tearing_down" ? initial : { ...initial, tornDown: [], retry: undefined };
  const artifacts = (): Artifacts => ({ ...(it.fields.artifacts ?? { deployments: {}, outputs: {} }), progress });
  if (it.status !== "tearing_down") {
    await it.commit({
      set: { desired, status: "tearing_down", artifacts: { ...artifacts(), url: undefined } },
      events: [lifecycleEvent("teardown_started", now, desired?.closeReason ?? "closed")],
      dueAt: it.workingDueAt(),
      keyTtlMs: it.liveTtl(expiresAt),
    });
  }
  for (const action of remainingActions(it, progress)) {
    const retry = progress.retry?.action === action.id ? progress.retry : undefined;
    if (retry !== undefined && retry.nextAt > it.engine.now()) {
      await it.commit({ set: { desired }, dueAt: retry.nextAt, keyTtlMs: it.liveTtl(expiresAt) });
      return "settled";
    }
    const attempt = await abortable(it, { stopForTeardown: false }, (signal) => perform(it, action, signal));
    if (attempt.kind === "stopped") return "stop";
    if (attempt.kind === "failed") {
      const attempts = (retry?.attempts ?? 0) + 1;
      const nextAt = it.engine.now() + retryDelayMs(attempts, it.engine.options.retry, it.engine.random);
      const message = describeFailure(attempt.error).message;
      it.run.log.warn({ action: action.id, attempts, error: message }, "teardown action failed; retrying with backoff");
      progress = { ...progress, retry: { action: action.id, sha: it.fields.config?.headSha ?? "", attempts, nextAt } };
      await it.commit({
        set: { desired, artifacts: { ...artifacts(), error: { step: action.step.name, message } } },
        events: [lifecycleEvent("teardown_retry", it.engine.now(), `${action.id}: attempt ${attempts} failed`)],
        dueAt: nextAt,
        keyTtlMs: it.liveTtl(expiresAt),
      });
      return "settled";
    }
    progress = { ...progress, tornDown: [...progress.tornDown, action.id], retry: undefined };
    const events = [lifecycleEvent("teardown_step", it.engine.now(), action.id)];
    if (attempt.value.length > 0) events.unshift(ranWithoutSecrets(it, action, attempt.value));
    await it.commit({ set: { desired, artifacts: artifacts() }, events, dueAt: it.workingDueAt(), keyTtlMs: it.liveTtl(expiresAt) });
  }
  await finish(it, desired);
  return "settled";
}

/**
 * The environment's own template says how to undo each step, as recorded
 * when it was set up: a repository's file cannot change that, nor the
 * operator removing the template, nor an uninstalled app stop it.
 */
function remainingActions(it: Iteration, progress: Progress): TeardownAction[] {
  if (progress.started.length === 0) return [];
  const { template: name, undo } = it.fields.config ?? { template: "" };
  const plan = undo ?? it.engine.deps.settings.template(name);
  if (plan === undefined) throw new Error(`cannot tear down: template "${name}" is not in the operator config any more and this environment predates recording it; restore it`);
  return teardownActions(plan, progress.started, progress.tornDown);
}

/**
 * Runs one action; returns the secret outputs it had to go without. A key
 * rotated away must not strand a teardown: commands get what can still be
 * unsealed, and a provider's destroy works from the environment's key.
 */
async function perform(it: Iteration, action: TeardownAction, signal: AbortSignal): Promise<string[]> {
  const { fields, engine } = it;
  if (fields.config === undefined) throw new Error("an environment with started steps has no config");
  const unreadableSecrets: string[] = [];
  const ctx = stepContext({
    config: fields.config,
    expiresAt: fields.expires_at ?? toIso(engine.now()),
    checkpoints: fields.checkpoints ?? {},
    phase: "teardown",
    sealer: engine.deps.sealer,
    unreadableSecrets,
    signal,
    log: it.run.log,
  });
  const provider = providerFor(action.step, engine.deps.providers);
  if (action.kind === "destroy") {
    await provider.destroy(action.step, ctx);
    return [];
  }
  await provider.create(action.step, ctx);
  return unreadableSecrets;
}

function ranWithoutSecrets(it: Iteration, action: TeardownAction, secrets: readonly string[]): EventLogEntry {
  const why = "they were sealed with a key the app no longer has (EPHEMERA_SECRET_KEY, or WEBHOOK_SECRET when it is unset, was changed without listing the old key after the new one)";
  it.run.log.warn({ action: action.id, secrets }, `teardown command ran without secret outputs: ${why}`);
  return lifecycleEvent("teardown_without_secrets", it.engine.now(), `${action.id} ran without ${secrets.join(", ")}: ${why}`);
}

/** Leaves the active set, wakes the waiters, and leaves a `deleted` tombstone that is never due. */
async function finish(it: Iteration, desired: DesiredState | undefined): Promise<void> {
  await releasePlace(it);
  const previous = it.fields.artifacts;
  const reason = desired?.closeReason ?? "closed";
  await it.commit({
    set: { ...(desired && { desired }), status: "deleted", checkpoints: {}, artifacts: { commentId: previous?.commentId, deployments: previous?.deployments ?? {}, outputs: {} } },
    // Nothing was ever shown for an environment that never existed.
    events: it.status === "new" ? [] : [lifecycleEvent("deleted", it.engine.now(), reason)],
    dueAt: null,
    keyTtlMs: it.engine.options.tombstoneRetentionMs,
  });
}
