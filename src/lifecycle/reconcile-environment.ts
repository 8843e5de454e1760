import type { EnvFields } from "./state-store.js";
import { assess } from "./assess.js";
import { carryOutCommands } from "./command-desk.js";
import { Round } from "./commit.js";
import type { DesiredState } from "./desired.js";
import type { ReconcileContext, WorkerContext } from "./engine.js";
import { envId, type EnvKey } from "./environment.js";
import { FencedError } from "./errors.js";
import { Leases } from "./leases.js";
import { needsSettings, plan, type SettingsVerdict } from "./plan.js";
import { reconcile } from "./reconcile.js";
import { errorRetryAt } from "./retry-policy.js";
import { invalidConfigReason } from "./settings.js";
import { isFresh } from "./setup-base.js";

/**
 * One reconcile pass over one environment, level-based: under its lease,
 * rounds of load, carry out its commands, fold the inbox, plan, reconcile,
 * commit; then load again (new intents may have arrived: teardown wins at
 * every step boundary) until the plan asks for nothing now and the inbox is
 * empty.
 */

/** A bound on rounds per pass: a runaway loop is a bug, and must not hold a worker forever. */
const MAX_ROUNDS = 500;

/** Never rejects: every failure is logged and the environment is looked at again later. */
export async function reconcileEnvironment(worker: WorkerContext, key: EnvKey, stopSignal: AbortSignal, leases = new Leases(worker, key)): Promise<void> {
  const ctx: ReconcileContext = { ...worker, key, leases, stopSignal, log: worker.log.child({ repoId: key.repoId, envId: envId(key.pr) }) };
  const { store, log } = ctx;
  try {
    if (!(await leases.acquire("lease"))) {
      // Another worker has it; look again soon in case it is finishing.
      await store.markDue(key, ctx.now() + ctx.options.busyRetryMs);
      return;
    }
    ctx.onPass?.();
    let resting = false;
    for (let rounds = 0; rounds < MAX_ROUNDS; rounds += 1) {
      if (leases.signal.aborted || stopSignal.aborted) return;
      const loaded = await store.load(key);
      if (loaded === null || (resting && loaded.inbox.length === 0)) return;
      // Commands first (GitHub answers them), then the fold; the first commit consumes every entry loaded.
      const snapshot = await carryOutCommands(loaded, { desk: ctx.commands, now: ctx.now(), log });
      const assessment = { ...assess(snapshot, ctx.now()), consumed: loaded.inbox.length };
      const settings = needsSettings(assessment) && assessment.desired ? await resolveSettings(ctx, snapshot.fields, assessment.desired) : undefined;
      const action = plan({ key, fields: snapshot.fields, assessment, settings, now: ctx.now() });
      const round = new Round(ctx, snapshot, assessment);
      try {
        const outcome = await reconcile(ctx, round, action);
        if ("interrupted" in outcome) {
          if (outcome.interrupted === "look-again") {
            resting = false;
            continue;
          }
          if (outcome.requeueAt !== undefined) await store.markDue(key, outcome.requeueAt);
          return;
        }
        await round.commit(outcome);
        resting = outcome.requeueAt !== "now";
      } finally {
        await round.end();
      }
    }
    log.error("the environment did not come to rest; it will be looked at again (this is a bug: please report it)");
    await store.markDue(key, errorRetryAt(ctx.retry, ctx.now()));
  } catch (error) {
    if (error instanceof FencedError) {
      log.warn({ err: error }, "stopped: another worker took the environment over");
      return;
    }
    log.error({ err: error }, "reconciling failed; it will be retried");
    await store.markDue(key, errorRetryAt(ctx.retry, ctx.now())).catch(() => undefined);
  } finally {
    await leases.releaseAll().catch((error: unknown) => log.warn({ err: error }, "could not release the lease; it will run out by itself"));
  }
}

/**
 * The settings an open environment is set up with: the repository's, with
 * the environment's own template (DESIGN §7: fixed when it is created),
 * whatever the repository's file names now — a switch there applies to new
 * environments. None when the file is invalid or the operator config no
 * longer has that template (teardown still can: it uses the recorded undo plan).
 */
async function resolveSettings(ctx: ReconcileContext, fields: Partial<EnvFields>, desired: DesiredState): Promise<SettingsVerdict> {
  const resolution = await ctx.settings.resolve({ key: ctx.key, desired });
  if (!resolution.ok) return { ok: false, reason: invalidConfigReason(resolution.problems) };
  const { settings } = resolution;
  const recorded = isFresh(fields.status ?? "new") ? undefined : fields.config;
  if (recorded === undefined || recorded.template === settings.templateName) return { ok: true, settings };
  const template = ctx.settings.template(recorded.template);
  if (template === undefined) return { ok: false, reason: missingTemplateReason(recorded.template) };
  return { ok: true, settings: { ...settings, templateName: recorded.template, template, ttlMs: recorded.ttlMs } };
}

function missingTemplateReason(template: string): string {
  return `This environment's template "${template}" is no longer in the operator config. To move it to another template, close and reopen the PR, or \`/preview destroy\` then \`/preview deploy\`.`;
}
