import type { Template } from "../config/template-schema.js";
import type { Policy } from "../config/policy.js";
import type { DesiredState } from "./desired.js";
import type { StepSpec } from "./provider.js";
import type { Checkpoint, Checkpoints, Progress, UndoPlan } from "./environment.js";
import { creationBlocker, updateBlocker } from "./gates.js";
import type { StatusOrNew } from "./transitions.js";
import { warningDueAt } from "./ttl.js";

/**
 * What to do next for one environment, from values alone: the level-based
 * heart of the reconciler. It never looks at what happened before, only at
 * what is wanted (desired state) and what is (status, checkpoints).
 */

/** What the setup steps must have run for: the head sha and the redeploy generation. */
export interface Target {
  sha: string;
  generation: number;
}

export function targetOf(desired: DesiredState): Target {
  return { sha: desired.headSha, generation: desired.redeployGeneration };
}

/**
 * A completed step never runs again for the same sha. On a new head only
 * `onUpdate` steps run again; a redeploy generation ahead of the one a step
 * ran for runs it again.
 */
export function isStepDone(step: { onUpdate: boolean }, checkpoint: Checkpoint | undefined, target: Target): boolean {
  if (checkpoint === undefined) return false;
  if ((checkpoint.generation ?? 0) < target.generation) return false;
  return !step.onUpdate || checkpoint.sha === target.sha;
}

function nextStep<S extends { name: string; onUpdate: boolean }>(steps: readonly S[], checkpoints: Checkpoints, target: Target): S | undefined {
  return steps.find((step) => !isStepDone(step, checkpoints[step.name], target));
}

export type TeardownCause = "closed" | "expired" | "resume";

/**
 * Teardown wins over everything: a closed (or destroyed) PR, an expiry, or a
 * teardown already under way. A tombstone has nothing left to tear down.
 */
export function teardownCause(params: {
  status: StatusOrNew;
  desired: DesiredState | undefined;
  expiresAt: number | undefined;
  now: number;
}): TeardownCause | undefined {
  const { status, desired, expiresAt, now } = params;
  if (status === "tearing_down") return "resume";
  if (desired === undefined || status === "deleted") return undefined;
  if (!desired.open) return "closed";
  if (status !== "new" && expiresAt !== undefined && expiresAt <= now) return "expired";
  return undefined;
}

export type SetupDecision =
  /** Not created, because … (policy). */
  | { kind: "blocked"; reason: string }
  /** Exists, but must not run steps for this head (an unapproved fork head). */
  | { kind: "hold"; reason: string }
  /** Needs a place in the active set before anything is made. */
  | { kind: "admit" }
  /** A failed step waits for its backoff. */
  | { kind: "wait"; until: number }
  | { kind: "run"; step: Template["steps"][number] }
  /** Every step is done: check readiness (when the template names a check) and go `ready`. */
  | { kind: "settle" }
  /** Post the "about to expire" reply. */
  | { kind: "warn" }
  | { kind: "idle" };

export interface SetupInput {
  now: number;
  status: StatusOrNew;
  /** Open: the teardown check came first. */
  desired: DesiredState;
  template: Template;
  policy: Policy;
  checkpoints: Checkpoints;
  progress: Progress;
  expiresAt: number;
  warnedFor: string | undefined;
}

const NOT_YET_CREATED: ReadonlySet<StatusOrNew> = new Set(["new", "deleted", "pending", "queued"]);

export function planSetup(input: SetupInput): SetupDecision {
  const { desired, status, progress, now } = input;
  const target = targetOf(desired);
  if (NOT_YET_CREATED.has(status)) {
    const reason = creationBlocker(desired, input.policy);
    return reason === undefined ? { kind: "admit" } : { kind: "blocked", reason };
  }
  const step = nextStep(input.template.steps, input.checkpoints, target);
  const gaveUp = status === "failed" && progress.failedFor?.sha === target.sha && progress.failedFor.generation === target.generation;
  if (step !== undefined && !gaveUp) {
    const reason = updateBlocker(desired, input.policy);
    if (reason !== undefined) return { kind: "hold", reason };
    const retry = progress.retry;
    if (retry !== undefined && retry.sha === target.sha && retry.nextAt > now) return { kind: "wait", until: retry.nextAt };
    return { kind: "run", step };
  }
  if (status === "provisioning") return { kind: "settle" };
  const warnAt = warningDueAt({ expiresAt: input.expiresAt, warnBeforeMs: input.template.warnBeforeMs, warnedFor: input.warnedFor });
  if (warnAt !== undefined && warnAt <= now) return { kind: "warn" };
  return { kind: "idle" };
}

/** When an idle live environment must be looked at again: its warning, else its expiry. */
export function idleDueAt(params: { expiresAt: number; warnBeforeMs: number; warnedFor: string | undefined }): number {
  const warnAt = warningDueAt(params);
  return warnAt === undefined ? params.expiresAt : Math.min(warnAt, params.expiresAt);
}

/** One thing a teardown does; `id` is how `progress.tornDown` remembers it is done. */
export interface TeardownAction {
  id: string;
  kind: "command" | "destroy";
  step: StepSpec;
}

/**
 * What is left to tear down, in order: the template's teardown commands
 * (they undo the `run` steps), then every provider's destroy in reverse
 * order of setup. Only for steps that started, completed or not, so a step
 * cut short by a crash is still destroyed; nothing at all when none started.
 */
export function teardownActions(template: UndoPlan, started: readonly string[], tornDown: readonly string[]): TeardownAction[] {
  if (started.length === 0) return [];
  const commands = template.teardown.map((step): TeardownAction => ({ id: `teardown:${step.name}`, kind: "command", step }));
  const destroys = template.steps
    .filter((step) => started.includes(step.name))
    .reverse()
    .map((step): TeardownAction => ({ id: `destroy:${step.name}`, kind: "destroy", step }));
  return [...commands, ...destroys].filter((action) => !tornDown.includes(action.id));
}
