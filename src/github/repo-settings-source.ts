import type { ProbotOctokit } from "probot";
import { templateNamed, type OperatorConfig } from "../config/operator-config.js";
import { resolveRepoSettings } from "../config/repo-config.js";
import { admissionLimits, type SettingsResolution, type SettingsSource } from "../lifecycle/settings.js";

export const REPO_CONFIG_PATH = ".github/ephemera.yml";

export interface RepoSettingsSourceDeps {
  operator: OperatorConfig;
  octokitFor(installationId: number): Promise<ProbotOctokit>;
  /** How long one repository's file is trusted before it is read again. */
  cacheTtlMs?: number;
  now?: () => number;
}

/**
 * The operator's settings bounded by each repository's `.github/ephemera.yml`,
 * read with Probot's config plugin: from the default branch (never a PR's
 * head), with the owner's `.github` repository as fallback and `_extends`.
 * Reads are cached briefly so a burst of pushes costs one read. A file that
 * does not parse is reported on the PR like any invalid file; GitHub being
 * unreachable throws, and the reconciler tries again later.
 */
export function repoSettingsSource(deps: RepoSettingsSourceDeps): SettingsSource {
  const cacheTtlMs = deps.cacheTtlMs ?? 60_000;
  const now = deps.now ?? Date.now;
  const cache = new Map<string, { at: number; raw: unknown }>();

  async function readFile(repoFullName: string, installationId: number): Promise<unknown> {
    const cached = cache.get(repoFullName);
    if (cached && now() - cached.at < cacheTtlMs) return cached.raw;
    const [owner = "", repo = ""] = repoFullName.split("/");
    const octokit = await deps.octokitFor(installationId);
    const { config, files } = await octokit.config.get({ owner, repo, path: REPO_CONFIG_PATH });
    const raw = files.some((file) => file.config !== null) ? config : undefined;
    cache.set(repoFullName, { at: now(), raw });
    return raw;
  }

  return {
    async resolve({ desired }): Promise<SettingsResolution> {
      let raw: unknown;
      try {
        raw = await readFile(desired.repo, desired.installationId);
      } catch (error) {
        if (isUnparseable(error)) return { ok: false, problems: [`${REPO_CONFIG_PATH} is not valid YAML, or not a mapping`] };
        throw error;
      }
      const result = resolveRepoSettings(deps.operator, raw);
      if (!result.ok) return { ok: false, problems: result.errors };
      return { ok: true, settings: { ...result.settings, limits: admissionLimits(deps.operator) } };
    },
    template: (name) => templateNamed(deps.operator, name),
  };
}

/** The config plugin throws a plain Error (no HTTP status) when the file is not YAML it can use. */
function isUnparseable(error: unknown): boolean {
  return error instanceof Error && !("status" in error) && /could not be parsed/.test(error.message);
}
