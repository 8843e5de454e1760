import type { EnvFields } from "./state-store.js";
import type { DesiredState } from "./desired.js";
import type { Template } from "../config/template-schema.js";
import type { StepSpec } from "./provider.js";
import { headCleared } from "./gates.js";
import type { Artifacts, Checkpoints, EnvConfig, Progress, UndoPlan } from "./environment.js";
import type { Iteration } from "./iteration.js";
import type { EnvSettings } from "./settings.js";
import { expiryOnCreate, toIso } from "./ttl.js";

/** The fields every setup commit writes: what is wanted, and the configuration it is built with. */
export interface SetupBase {
  desired: DesiredState;
  config: EnvConfig;
  expiresAt: number;
  artifacts: Artifacts;
  checkpoints: Checkpoints;
  progress: Progress;
}

const EMPTY_PROGRESS: Progress = { started: [], tornDown: [] };

/**
 * A tombstone that comes back (a reopen, a deploy) is a new environment: it
 * keeps only how the PR refers to it (comment and deployments).
 */
function freshArtifacts(previous: Artifacts | undefined): Artifacts {
  return { commentId: previous?.commentId, deployments: previous?.deployments ?? {}, outputs: {} };
}

function isFresh(it: Iteration): boolean {
  return it.status === "new" || it.status === "deleted";
}

/**
 * `settings` with the environment's own template (DESIGN §7: fixed when it
 * is created), whatever the repository's file names now: a switch there
 * applies to new environments. Undefined when the operator config no longer
 * has that template (teardown still can: see `undoPlanFor`).
 */
export function withRecordedTemplate(it: Iteration, settings: EnvSettings): EnvSettings | undefined {
  const recorded = isFresh(it) ? undefined : it.fields.config;
  if (recorded === undefined || recorded.template === settings.templateName) return settings;
  const template = it.engine.deps.settings.template(recorded.template);
  return template && { ...settings, templateName: recorded.template, template, ttlMs: recorded.ttlMs };
}

/**
 * What teardown will undo, as of a setup pass with `template`: its teardown
 * commands, and its steps plus any step an earlier definition had (it may
 * have started). Steps' `env` is left out: teardown does not run them.
 */
export function undoPlanFor(template: Pick<Template, "steps" | "teardown">, previous: UndoPlan | undefined): UndoPlan {
  const undoStep = ({ name, run, uses, with: settings, timeoutMs }: StepSpec): UndoPlan["steps"][number] => ({ name, run, uses, with: settings, timeoutMs });
  const steps = template.steps.map(undoStep);
  const dropped = (previous?.steps ?? []).filter((step) => !steps.some((current) => current.name === step.name));
  return { steps: [...steps, ...dropped], teardown: template.teardown.map(undoStep) };
}

export function setupBase(it: Iteration, settings: EnvSettings, desired: DesiredState): SetupBase {
  const { fields, run } = it;
  const fresh = isFresh(it);
  const now = it.engine.now();
  // A held fork head reaches no step, teardown's included: they keep the last head that was cleared.
  const built = headCleared(desired, settings.policy.forks) || fields.config === undefined ? desired : fields.config;
  const config: EnvConfig = {
    repo: desired.repo,
    repoId: run.key.repoId,
    installationId: desired.installationId,
    pr: run.key.pr,
    headSha: built.headSha,
    headRef: built.headRef,
    fork: desired.fork,
    forks: settings.policy.forks,
    template: settings.templateName,
    undo: undoPlanFor(settings.template, fresh ? undefined : fields.config?.undo),
    ttlMs: settings.ttlMs,
    maxTtlMs: settings.template.maxTtlMs,
  };
  const artifacts = fresh ? freshArtifacts(fields.artifacts) : (fields.artifacts ?? freshArtifacts(undefined));
  return {
    desired,
    config,
    expiresAt: fresh ? expiryOnCreate({ now, ttlMs: settings.ttlMs }) : (it.assessment.expiresAt ?? expiryOnCreate({ now, ttlMs: settings.ttlMs })),
    artifacts,
    checkpoints: fresh ? {} : (fields.checkpoints ?? {}),
    progress: (fresh ? undefined : artifacts.progress) ?? EMPTY_PROGRESS,
  };
}

/** The fields of `base` as the store writes them, with changes to the artifacts and progress. */
export function baseFields(base: SetupBase, changes: { artifacts?: Partial<Artifacts>; progress?: Partial<Progress> } = {}): Partial<EnvFields> {
  return {
    desired: base.desired,
    config: base.config,
    expires_at: toIso(base.expiresAt),
    checkpoints: base.checkpoints,
    artifacts: { ...base.artifacts, ...changes.artifacts, progress: { ...base.progress, ...changes.progress } },
  };
}
