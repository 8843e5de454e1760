import { assess } from "./assess.js";
import { carryOutCommands } from "./command-desk.js";
import type { Engine } from "./engine.js";
import { envId, type EnvKey } from "./environment.js";
import { FencedError } from "./errors.js";
import { Iteration, type EnvRun, type Next } from "./iteration.js";
import { Leases } from "./leases.js";
import { lifecycleEvent } from "./notifier.js";
import { invalidConfigReason } from "./settings.js";
import { advanceSetup } from "./setup.js";
import { withRecordedTemplate } from "./setup-base.js";
import { tearDown } from "./teardown.js";

/**
 * Reconciles one environment, level-based: under its lease, load it, fold the
 * inbox, decide, act, commit; then load again (new intents may have arrived:
 * teardown wins at every step boundary) until nothing is left to do now and
 * the inbox is empty.
 */

/** A bound on iterations per claim: a runaway loop is a bug, and must not hold a worker forever. */
const MAX_ITERATIONS = 500;

/** Never rejects: every failure is logged and the environment is looked at again later. */
export async function reconcileEnvironment(engine: Engine, key: EnvKey, stopSignal: AbortSignal, leases = new Leases(engine, key)): Promise<void> {
  const { store, log: rootLog } = engine.deps;
  const log = rootLog.child({ repoId: key.repoId, envId: envId(key.pr) });
  const run: EnvRun = { engine, key, leases, log, stopSignal };
  try {
    if (!(await leases.acquire("lease"))) {
      // Another worker has it; look again soon in case it is finishing.
      await store.markDue(key, engine.now() + engine.options.busyRetryMs);
      return;
    }
    let settled = false;
    for (let iteration = 0; iteration < MAX_ITERATIONS; iteration += 1) {
      if (leases.signal.aborted || stopSignal.aborted) return;
      const snapshot = await store.load(key);
      if (snapshot === null || (settled && snapshot.inbox.length === 0)) return;
      // Commands first (GitHub answers them), then the fold; the first commit consumes every entry loaded.
      const carried = await carryOutCommands(snapshot, { desk: engine.deps.commands, now: engine.now(), log });
      const assessment = { ...assess(carried, engine.now()), consumed: snapshot.inbox.length };
      const next = await advance(new Iteration(run, carried, assessment));
      if (next === "stop") return;
      settled = next === "settled";
    }
    log.error("the environment did not settle; it will be looked at again (this is a bug: please report it)");
    await store.markDue(key, engine.now() + engine.options.errorRetryMs);
  } catch (error) {
    if (error instanceof FencedError) {
      log.warn({ err: error }, "stopped: another worker took the environment over");
      return;
    }
    log.error({ err: error }, "reconciling failed; it will be retried");
    await store.markDue(key, engine.now() + engine.options.errorRetryMs).catch(() => undefined);
  } finally {
    await leases.releaseAll().catch((error: unknown) => log.warn({ err: error }, "could not release the lease; it will run out by itself"));
  }
}

async function advance(it: Iteration): Promise<Next> {
  const { assessment, engine } = it;
  if (assessment.teardown !== undefined) return tearDown(it, assessment.teardown);
  const { desired } = assessment;
  if (desired === undefined || !desired.open) {
    // Nothing that names the PR yet, or a tombstone: keep what was folded, nothing to do.
    const refresh = assessment.refresh && it.status !== "new" ? [lifecycleEvent("refresh", engine.now())] : [];
    await it.commit({ set: desired && { desired }, events: refresh, dueAt: null, keyTtlMs: engine.options.tombstoneRetentionMs });
    return "settled";
  }
  const resolution = await engine.deps.settings.resolve({ key: it.run.key, desired });
  if (!resolution.ok) return refuse(it, invalidConfigReason(resolution.problems));
  const settings = withRecordedTemplate(it, resolution.settings);
  if (settings === undefined) return refuse(it, missingTemplateReason(it.fields.config?.template ?? ""));
  return advanceSetup(it, settings, desired);
}

function missingTemplateReason(template: string): string {
  return `This environment's template "${template}" is no longer in the operator config. To move it to another template, close and reopen the PR, or \`/preview destroy\` then \`/preview deploy\`.`;
}

/**
 * The repository's config is invalid, or the environment's template is
 * gone: nothing is provisioned or changed, the PR says why, and a new intent
 * (a push, `/preview status`) looks again.
 */
async function refuse(it: Iteration, reason: string): Promise<Next> {
  const { engine, assessment } = it;
  const artifacts = { deployments: {}, outputs: {}, ...it.fields.artifacts, blocked: reason };
  const unchanged = it.fields.artifacts?.blocked === reason;
  const created = it.status !== "new" && it.status !== "deleted" && it.status !== "pending";
  await it.commit({
    set: { desired: assessment.desired, artifacts, ...(created ? {} : { status: "pending" as const }) },
    events: unchanged ? [] : [lifecycleEvent(created ? "held" : "blocked", engine.now(), reason)],
    dueAt: assessment.expiresAt ?? null,
    keyTtlMs: assessment.expiresAt === undefined ? engine.options.tombstoneRetentionMs : it.liveTtl(assessment.expiresAt),
  });
  return "settled";
}
