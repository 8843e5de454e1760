import type { EnvFields } from "../store/state-store.js";
import type { DesiredState } from "./desired.js";
import type { Artifacts, Checkpoints, EnvConfig, Progress } from "./environment.js";
import { headCleared } from "./gates.js";
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

export function setupBase(it: Iteration, settings: EnvSettings, desired: DesiredState): SetupBase {
  const { fields, run } = it;
  const fresh = it.status === "new" || it.status === "deleted";
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
