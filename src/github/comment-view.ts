import type { Template } from "../config/template-schema.js";
import type { DesiredState } from "../lifecycle/desired.js";
import type { Status } from "../lifecycle/environment.js";
import { isStepDone, targetOf } from "../lifecycle/plan.js";
import { invalidConfigProblems } from "../lifecycle/settings.js";
import type { EnvFields } from "../lifecycle/state-store.js";
import type { CommentView, StepState } from "./render-comment.js";

/** Why an environment went away, in words for the PR. */
const TORN_DOWN_BECAUSE: Record<string, string> = {
  closed: "the PR was closed",
  destroy: "someone asked for it with `/preview destroy`",
  uninstalled: "Ephemera lost access to this repository",
  operator: "an operator tore it down",
  expired: "it expired",
};

/** Statuses of an environment that exists; `blocked` then says why it is not updated to the head (DESIGN §6: a fork push). */
const RUNNING: ReadonlySet<Status> = new Set(["provisioning", "ready", "failed"]);
/** Statuses in which why it was held back no longer matters. */
const GOING: ReadonlySet<Status> = new Set(["tearing_down", "deleted"]);

export interface CommentViewInput {
  pr: number;
  fields: Partial<EnvFields>;
  desired: DesiredState | undefined;
  /** The operator's template, for the list of steps; undefined when it is gone from the config. */
  template: Template | undefined;
  now: number;
}

/**
 * The sticky comment's view of an environment, from the stored fields alone:
 * what each step has done for the current head, and why there is no
 * environment when there is none. Pure, so the same state renders the same.
 */
export function commentView({ pr, fields, desired, template, now }: CommentViewInput): CommentView {
  const artifacts = fields.artifacts;
  const status = fields.status ?? "pending";
  const view: CommentView = {
    pr,
    status,
    headSha: desired?.headSha ?? fields.config?.headSha ?? "",
    now: new Date(now).toISOString(),
    steps: template ? stepStates(template, fields, desired) : [],
  };
  if (artifacts?.url !== undefined) view.url = artifacts.url;
  if (fields.expires_at !== undefined && status !== "deleted") view.expiresAt = fields.expires_at;
  if (artifacts?.error !== undefined && status === "failed") view.error = artifacts.error;
  if (artifacts?.queuePosition !== undefined && status === "queued") view.queuePosition = artifacts.queuePosition;
  if (artifacts?.blocked !== undefined && !GOING.has(status)) {
    const problems = invalidConfigProblems(artifacts.blocked);
    // An environment that exists and is held back keeps running as it was: it is not "not created".
    if (RUNNING.has(status)) view.heldReason = problems ? `.github/ephemera.yml is not valid: ${problems.join("; ")}` : artifacts.blocked;
    else if (problems) view.configErrors = problems;
    else view.notCreatedReason = artifacts.blocked;
  }
  if (status === "deleted") view.tornDownReason = TORN_DOWN_BECAUSE[desired?.closeReason ?? "closed"] ?? "it was torn down";
  return view;
}

function stepStates(template: Template, fields: Partial<EnvFields>, desired: DesiredState | undefined): CommentView["steps"] {
  const checkpoints = fields.checkpoints ?? {};
  const target = desired ? targetOf(desired) : { sha: fields.config?.headSha ?? "", generation: 0 };
  const failedStep = fields.status === "failed" ? fields.artifacts?.error?.step : undefined;
  // Steps run in order, so while provisioning the first one not done is the one running.
  let runningShown = fields.status !== "provisioning";
  return template.steps.map((step) => {
    let state: StepState = "pending";
    if (isStepDone(step, checkpoints[step.name], target)) state = "done";
    else if (step.name === failedStep) state = "failed";
    else if (!runningShown) {
      state = "running";
      runningShown = true;
    }
    return { name: step.name, state };
  });
}
