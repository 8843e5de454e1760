import { templateNamed, type OperatorConfig } from "../config/operator-config.js";
import { resolveRepoSettings, type RepoSettings } from "../config/repo-config.js";
import type { Template } from "../config/template-schema.js";
import type { AdmissionLimits } from "./state-store.js";
import type { DesiredState } from "./desired.js";
import type { EnvKey } from "./environment.js";

/**
 * What the reconciler needs to know about an environment's configuration:
 * the operator's template, picked and bounded by the repository's
 * `.github/ephemera.yml`, and the operator's limits. Reading the repository's
 * file takes a GitHub call, so it comes through this port; the GitHub layer
 * implements it, tests use `staticSettingsSource`.
 */
export interface EnvSettings extends RepoSettings {
  limits: AdmissionLimits;
}

const INVALID_CONFIG = ".github/ephemera.yml is not valid:";

/**
 * Why an environment is blocked by an invalid repository file, as kept in
 * `artifacts.blocked`: one problem a line (each is one line by design), so
 * the PR can show them as a list.
 */
export function invalidConfigReason(problems: readonly string[]): string {
  return [INVALID_CONFIG, ...problems].join("\n");
}

/** The problems back from a `blocked` reason, or undefined when it is another reason. */
export function invalidConfigProblems(reason: string): string[] | undefined {
  const [head, ...problems] = reason.split("\n");
  return head === INVALID_CONFIG ? problems : undefined;
}

/** `problems` are the repository config's validation errors, shown on the PR; nothing is provisioned. */
export type SettingsResolution = { ok: true; settings: EnvSettings } | { ok: false; problems: string[] };

export interface SettingsSource {
  /** The settings in force for this environment now. Throws when they cannot be read (GitHub down): retried later. */
  resolve(request: { key: EnvKey; desired: DesiredState }): Promise<SettingsResolution>;
  /**
   * The operator's template by name, for tearing down what it made. It never
   * needs GitHub, so an uninstalled app or an invalid repository file cannot
   * stop a teardown.
   */
  template(name: string): Template | undefined;
}

export function admissionLimits(operator: OperatorConfig): AdmissionLimits {
  return { perRepo: operator.limits.maxActivePerRepo, global: operator.limits.maxActive };
}

/**
 * Settings from the operator config alone, with each repository's file given
 * by `repoConfig` (none by default): for tests. Not for the CLI: ignoring a
 * repository's file could switch an environment to another template.
 */
export function staticSettingsSource(operator: OperatorConfig, repoConfig: (key: EnvKey) => unknown = () => undefined): SettingsSource {
  return {
    async resolve({ key }) {
      const result = resolveRepoSettings(operator, repoConfig(key));
      if (!result.ok) return { ok: false, problems: result.errors };
      return { ok: true, settings: { ...result.settings, limits: admissionLimits(operator) } };
    },
    template: (name) => templateNamed(operator, name),
  };
}
