import type { EnvFields } from "./state-store.js";
import type { DesiredState } from "./desired.js";
import type { Template } from "../config/template-schema.js";
import type { StepSpec } from "./provider.js";
import { headCleared } from "./gates.js";
import type { Artifacts, Checkpoints, EnvConfig, EnvKey, Progress, UndoPlan } from "./environment.js";
import type { StatusOrNew } from "./transitions.js";
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

/** Nothing is made yet, or a tombstone: whatever was recorded before is not this environment's. */
export function isFresh(status: StatusOrNew): boolean {
  return status === "new" || status === "deleted";
}

/**
 * What teardown will undo, as of a setup pass with `template`: its teardown
 * commands, and its steps plus any step an earlier definition had (it may
 * have started). Steps' `env` is left out: teardown does not run them.
 */
function undoPlanFor(template: Pick<Template, "steps" | "teardown">, previous: UndoPlan | undefined): UndoPlan {
  const undoStep = ({ name, run, uses, with: settings, timeoutMs }: StepSpec): UndoPlan["steps"][number] => ({ name, run, uses, with: settings, timeoutMs });
  const steps = template.steps.map(undoStep);
  const dropped = (previous?.steps ?? []).filter((step) => !steps.some((current) => current.name === step.name));
  return { steps: [...steps, ...dropped], teardown: template.teardown.map(undoStep) };
}

/** What this environment is built with and from, as a setup pass sees it. Pure. */
export function setupBase(params: {
  key: EnvKey;
  fields: Partial<EnvFields>;
  /** The expiry as assessed (renewed, extended); undefined before the environment was created. */
  expiresAt: number | undefined;
  settings: EnvSettings;
  desired: DesiredState;
  now: number;
}): SetupBase {
  const { key, fields, settings, desired, now } = params;
  const fresh = isFresh(fields.status ?? "new");
  // A held fork head reaches no step, teardown's included: they keep the last head that was cleared.
  const built = headCleared(desired, settings.policy.forks) || fields.config === undefined ? desired : fields.config;
  const config: EnvConfig = {
    repo: desired.repo,
    repoId: key.repoId,
    installationId: desired.installationId,
    pr: key.pr,
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
    expiresAt: fresh ? expiryOnCreate({ now, ttlMs: settings.ttlMs }) : (params.expiresAt ?? expiryOnCreate({ now, ttlMs: settings.ttlMs })),
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
