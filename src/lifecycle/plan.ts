import type { Template } from "../config/template-schema.js";
import type { Policy } from "../config/policy.js";
import type { EnvFields } from "./state-store.js";
import type { Assessment } from "./assess.js";
import type { DesiredState } from "./desired.js";
import type { StepSpec } from "./provider.js";
import type { Checkpoint, Checkpoints, EnvKey, Progress, UndoPlan } from "./environment.js";
import { closedByExpiry } from "./fold.js";
import { creationBlocker, updateBlocker } from "./gates.js";
import { stepRetryAt, teardownRetryAt, type RetryPolicy } from "./retry-policy.js";
import type { EnvSettings } from "./settings.js";
import { setupBase, type SetupBase } from "./setup-base.js";
import type { StatusOrNew } from "./transitions.js";
import { toIso, warningDueAt } from "./ttl.js";

/**
 * What to do next for one environment, from values alone: the level-based
 * heart of the reconciler, and the only place that decides. It never looks
 * at what happened before, only at what is wanted (desired state) and what
 * is (status, checkpoints, progress); `reconcile` carries the action out.
 * The failure policy is decided here too (`planStepFailure`,
 * `planTeardownStep`), with the one retry policy.
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

type SetupStep = Template["steps"][number];

/** What the setup of an open environment does next, before the fields it writes are known (see `SetupAction`). */
export type SetupDecision =
  /** Not created, because … (policy). */
  | { kind: "block"; reason: string }
  /** Exists, but must not run steps for this head (an unapproved fork head). */
  | { kind: "hold"; reason: string }
  /** Needs a place in the active set before anything is made. */
  | { kind: "admit" }
  /** A failed step waits for its backoff. */
  | { kind: "wait"; until: number }
  | { kind: "run-step"; step: SetupStep }
  /** Every step is done: check readiness (when the template names a check) and go `ready`. */
  | { kind: "go-ready" }
  /** Post the "about to expire" reply. */
  | { kind: "warn" }
  | { kind: "idle" };

/** A setup decision with what every setup commit writes, and when an idle environment is looked at again. */
export type SetupAction = SetupDecision & {
  base: SetupBase;
  settings: EnvSettings;
  /** Its expiry warning, else its expiry. */
  idleDueAt: number;
  /** Someone asked to see the state again. */
  refresh: boolean;
};

/** Everything `plan` can decide; each kind is carried out by `reconcile`. */
export type Action =
  /** Closed, expired, or a teardown under way, with something made: undo it (teardown wins over everything). */
  | { kind: "tear-down"; desired: DesiredState | undefined }
  /** Closed or expired before anything was made: straight to the tombstone. */
  | { kind: "delete"; desired: DesiredState | undefined }
  /** Nothing names the PR yet, or a tombstone: keep what was folded, nothing to do. */
  | { kind: "keep"; desired: DesiredState | undefined; refresh: boolean }
  /** The repository's config is invalid, or the environment's template is gone: make nothing and say why. */
  | { kind: "refuse"; reason: string }
  | SetupAction;

/** The settings an open environment is set up with, or why there are none (shown on the PR). */
export type SettingsVerdict = { ok: true; settings: EnvSettings } | { ok: false; reason: string };

export interface PlanInput {
  key: EnvKey;
  /** As loaded (commands carried out). */
  fields: Partial<EnvFields>;
  assessment: Assessment;
  /** Resolved only when `needsSettings` says so: reading them may take a GitHub call. */
  settings: SettingsVerdict | undefined;
  now: number;
}

const NOTHING_MADE: ReadonlySet<StatusOrNew> = new Set(["new", "pending", "queued"]);

/** Whether `plan` needs the environment's settings: it is open and not torn down. */
export function needsSettings(assessment: Assessment): boolean {
  return assessment.teardown === undefined && assessment.desired?.open === true;
}

export function plan(input: PlanInput): Action {
  const { assessment, fields, now } = input;
  const { status, desired, teardown } = assessment;
  if (teardown !== undefined) {
    const closed = desired && teardown === "expired" && assessment.expiresAt !== undefined ? closedByExpiry(desired, toIso(assessment.expiresAt)) : desired;
    const started = fields.artifacts?.progress?.started ?? [];
    return NOTHING_MADE.has(status) && started.length === 0 ? { kind: "delete", desired: closed } : { kind: "tear-down", desired: closed };
  }
  if (desired === undefined || !needsSettings(assessment)) return { kind: "keep", desired, refresh: assessment.refresh && status !== "new" };
  if (input.settings === undefined) throw new Error("plan: an open environment needs its settings");
  if (!input.settings.ok) return { kind: "refuse", reason: input.settings.reason };
  const { settings } = input.settings;
  const base = setupBase({ key: input.key, fields, expiresAt: assessment.expiresAt, settings, desired, now });
  const decision = planSetup({
    now,
    status,
    desired,
    template: settings.template,
    policy: settings.policy,
    checkpoints: base.checkpoints,
    progress: base.progress,
    expiresAt: base.expiresAt,
    warnedFor: base.artifacts.warnedFor,
  });
  const idleDueAt = idleDueAtOf({ expiresAt: base.expiresAt, warnBeforeMs: settings.template.warnBeforeMs, warnedFor: base.artifacts.warnedFor });
  return { ...decision, base, settings, idleDueAt, refresh: assessment.refresh };
}

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
    return reason === undefined ? { kind: "admit" } : { kind: "block", reason };
  }
  const step = nextStep(input.template.steps, input.checkpoints, target);
  const gaveUp = status === "failed" && progress.failedFor?.sha === target.sha && progress.failedFor.generation === target.generation;
  if (step !== undefined && !gaveUp) {
    const reason = updateBlocker(desired, input.policy);
    if (reason !== undefined) return { kind: "hold", reason };
    const retry = progress.retry;
    if (retry !== undefined && retry.sha === target.sha && retry.nextAt > now) return { kind: "wait", until: retry.nextAt };
    return { kind: "run-step", step };
  }
  if (status === "provisioning") return { kind: "go-ready" };
  const warnAt = warningDueAt({ expiresAt: input.expiresAt, warnBeforeMs: input.template.warnBeforeMs, warnedFor: input.warnedFor });
  if (warnAt !== undefined && warnAt <= now) return { kind: "warn" };
  return { kind: "idle" };
}

/** When an idle live environment must be looked at again: its warning, else its expiry. */
function idleDueAtOf(params: { expiresAt: number; warnBeforeMs: number; warnedFor: string | undefined }): number {
  const warnAt = warningDueAt(params);
  return warnAt === undefined ? params.expiresAt : Math.min(warnAt, params.expiresAt);
}

/**
 * After a setup step failed: another attempt at `nextAt` (its failures in a
 * row for this head counted in `attempts`), or, when `nextAt` is undefined,
 * none: the environment is `failed` until a new head or a redeploy.
 */
export function planStepFailure(params: {
  step: string;
  target: Target;
  progress: Progress;
  terminal: boolean;
  policy: RetryPolicy;
  now: number;
  random: () => number;
}): { attempts: number; nextAt: number | undefined } {
  const { step, target, progress, terminal, policy, now, random } = params;
  const previous = progress.retry;
  const attempts = previous?.action === step && previous.sha === target.sha ? previous.attempts + 1 : 1;
  return { attempts, nextAt: stepRetryAt({ attempts, terminal, policy, now, random }) };
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

export type TeardownStep =
  /** Every action is done: leave the tombstone. */
  | { kind: "finish" }
  /** The next action failed and waits for its backoff. */
  | { kind: "wait"; until: number }
  /** `attempts`: its failures in a row so far. */
  | { kind: "run"; action: TeardownAction; attempts: number };

/** The next step of a teardown under way, from what its progress recorded. */
export function planTeardownStep(params: { undo: UndoPlan; progress: Progress; now: number }): TeardownStep {
  const { progress, now } = params;
  const [action] = teardownActions(params.undo, progress.started, progress.tornDown);
  if (action === undefined) return { kind: "finish" };
  const retry = progress.retry?.action === action.id ? progress.retry : undefined;
  if (retry !== undefined && retry.nextAt > now) return { kind: "wait", until: retry.nextAt };
  return { kind: "run", action, attempts: retry?.attempts ?? 0 };
}

/** After a teardown action failed: when to try it again (always: giving up would leak). */
export function planTeardownFailure(params: { attempts: number; policy: RetryPolicy; now: number; random: () => number }): { attempts: number; nextAt: number } {
  const attempts = params.attempts + 1;
  return { attempts, nextAt: teardownRetryAt({ ...params, attempts }) };
}
