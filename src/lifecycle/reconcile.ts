import type { Outcome, Round, Result } from "./commit.js";
import type { ReconcileContext } from "./engine.js";
import type { EventLogEntry } from "./environment.js";
import { lifecycleEvent } from "./notifier.js";
import type { Action, SetupAction } from "./plan.js";
import { baseFields } from "./setup-base.js";
import { toIso } from "./ttl.js";
import { admit, releasePlace } from "./actions/admit.js";
import { goReady } from "./actions/go-ready.js";
import { runStep } from "./actions/run-step.js";
import { finish, tearDown } from "./actions/tear-down.js";

/**
 * Carries out what `plan` decided, and says what came of it: a Result for
 * the round to commit, or an interruption. The actions that only record
 * something (or give back an admission place) are here; those that call a
 * provider, take a place in the active set or tear down are in actions/. Every intermediate commit of an action (a
 * step marked started, a teardown action done) goes through the round too.
 */
export async function reconcile(ctx: ReconcileContext, round: Round, action: Action): Promise<Outcome> {
  const now = ctx.now();
  switch (action.kind) {
    case "tear-down":
      return tearDown(ctx, round, action.desired);
    case "delete":
      return finish(ctx, round, action.desired);
    case "keep":
      return { set: action.desired && { desired: action.desired }, events: action.refresh ? [lifecycleEvent("refresh", now)] : [], requeueAt: null };
    case "refuse":
      return refuse(round, action.reason, now);
    case "block":
      return block(ctx, round, action);
    case "hold": {
      const { base, reason } = action;
      const events = base.artifacts.blocked === reason ? refreshed(action, now) : [lifecycleEvent("held", now, reason)];
      return { set: baseFields(base, { artifacts: { blocked: reason } }), events, requeueAt: action.idleDueAt };
    }
    case "admit":
      return admit(ctx, action);
    case "wait":
      return { set: baseFields(action.base), events: refreshed(action, now), requeueAt: action.until };
    case "run-step":
      return runStep(ctx, round, action);
    case "go-ready":
      return goReady(ctx, action);
    case "warn": {
      const warnedFor = toIso(action.base.expiresAt);
      return { set: baseFields(action.base, { artifacts: { warnedFor } }), events: [lifecycleEvent("expiry_warning", now, warnedFor)], requeueAt: "now" };
    }
    case "idle":
      return { set: baseFields(action.base, { artifacts: { blocked: undefined } }), events: refreshed(action, now), requeueAt: action.idleDueAt };
  }
}

/** The `refresh` a setup action logs when someone asked to see the state again and nothing else changed. */
function refreshed(action: SetupAction, now: number): EventLogEntry[] {
  return action.refresh ? [lifecycleEvent("refresh", now)] : [];
}

/**
 * The repository's config is invalid, or the environment's template is
 * gone: nothing is provisioned or changed, the PR says why, and a new intent
 * (a push, `/preview status`) looks again.
 */
function refuse(round: Round, reason: string, now: number): Result {
  const { assessment, fields, status } = round;
  const artifacts = { deployments: {}, outputs: {}, ...fields.artifacts, blocked: reason };
  const unchanged = fields.artifacts?.blocked === reason;
  const created = status !== "new" && status !== "deleted" && status !== "pending";
  return {
    set: { desired: assessment.desired, artifacts, ...(created ? {} : { status: "pending" as const }) },
    events: unchanged ? [] : [lifecycleEvent(created ? "held" : "blocked", now, reason)],
    requeueAt: assessment.expiresAt ?? null,
  };
}

/** Not created, because …: `pending` with the reason, until something changes or it expires. */
async function block(ctx: ReconcileContext, round: Round, action: SetupAction & { kind: "block" }): Promise<Result> {
  const { base, reason } = action;
  const now = ctx.now();
  if (round.status === "queued") await releasePlace(ctx);
  const events = base.artifacts.blocked === reason ? [] : [lifecycleEvent("blocked", now, reason)];
  return {
    set: { ...baseFields(base, { artifacts: { blocked: reason, queuePosition: undefined } }), status: "pending" },
    events: action.refresh && events.length === 0 ? [lifecycleEvent("refresh", now)] : events,
    requeueAt: base.expiresAt,
  };
}
