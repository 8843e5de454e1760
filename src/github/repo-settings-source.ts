import type { ProbotOctokit } from "probot";
import { templateNamed, type OperatorConfig } from "../config/operator-config.js";
import { resolveRepoSettings } from "../config/repo-config.js";
import type { InstallationClients, RepositoryScope } from "./installation-clients.js";
import { admissionLimits, type SettingsResolution, type SettingsSource } from "../lifecycle/settings.js";

export const REPO_CONFIG_PATH = ".github/ephemera.yml";

export interface RepoSettingsSourceDeps {
  operator: OperatorConfig;
  clients: InstallationClients;
  /** How long one repository's file is trusted before it is read again. */
  cacheTtlMs?: number;
  now?: () => number;
}

/**
 * The operator's settings bounded by each repository's `.github/ephemera.yml`,
 * read with Probot's config plugin: from the default branch (never a PR's
 * head), with the owner's `.github` repository as fallback and `_extends`.
 * The repository's own file is read with a token for its id alone (see
 * `forRepository`); the other repositories the read may reach get the
 * installation's token, for those reads only (see `readingElsewhere`).
 * Reads are cached briefly so a burst of pushes costs one read. A file that
 * does not parse is reported on the PR like any invalid file; GitHub being
 * unreachable throws, and the reconciler tries again later.
 */
export function repoSettingsSource(deps: RepoSettingsSourceDeps): SettingsSource {
  const cacheTtlMs = deps.cacheTtlMs ?? 60_000;
  const now = deps.now ?? Date.now;
  const cache = new Map<number, { at: number; raw: unknown }>();

  async function readFile(repoFullName: string, scope: RepositoryScope): Promise<unknown> {
    const cached = cache.get(scope.repoId);
    if (cached && now() - cached.at < cacheTtlMs) return cached.raw;
    const [owner = "", repo = ""] = repoFullName.split("/");
    const octokit = readingElsewhere(await deps.clients.forRepository(scope), await deps.clients.forInstallation(scope.installationId), { owner, repo });
    const { config, files } = await octokit.config.get({ owner, repo, path: REPO_CONFIG_PATH });
    const raw = files.some((file) => file.config !== null) ? config : undefined;
    cache.set(scope.repoId, { at: now(), raw });
    return raw;
  }

  return {
    async resolve({ key, desired }): Promise<SettingsResolution> {
      let raw: unknown;
      try {
        raw = await readFile(desired.repo, { installationId: desired.installationId, repoId: key.repoId });
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

/**
 * `scoped` (the environment's repository only), with every request about
 * another repository sent through `installation` instead: the config
 * plugin's fallback to the owner's `.github` repository and `_extends`
 * reach other repositories, which the scoped token cannot, and the plugin
 * only ever reads. Requests about `own` keep the scoped token.
 */
function readingElsewhere(scoped: ProbotOctokit, installation: ProbotOctokit, own: { owner: string; repo: string }): ProbotOctokit {
  const isOwn = ({ owner, repo }: Record<string, unknown>) =>
    String(owner).toLowerCase() === own.owner.toLowerCase() && String(repo).toLowerCase() === own.repo.toLowerCase();
  scoped.hook.wrap("request", (request, options) => {
    if (isOwn(options)) return request(options);
    // Without the scoped client's own hook, which the merged options carry: the installation client's applies.
    const { hook: _scopedHook, ...requestOptions } = options.request ?? {};
    return installation.request({ ...options, request: requestOptions });
  });
  return scoped;
}

/** The config plugin throws a plain Error (no HTTP status) when the file is not YAML it can use. */
function isUnparseable(error: unknown): boolean {
  return error instanceof Error && !("status" in error) && /could not be parsed/.test(error.message);
}
