import type { EnvKey } from "../../lifecycle/environment.js";
import { describeEnvironment, repoNameOf, type EnvironmentReader, type EnvironmentView } from "../../read-model/describe-environment.js";

/** An environment whose PR Ephemera believes open, with the head it works on. */
export interface LiveEnvironment {
  key: EnvKey;
  headSha: string;
}

/** One repository to compare with GitHub, named as its environments last saw it. */
export interface LiveRepository {
  repoId: number;
  owner: string;
  name: string;
  installationId: number;
  environments: LiveEnvironment[];
}

/** An environment resync could not compare with GitHub this time, and why. */
export interface UnknownEnvironment {
  repoId: number;
  repo: string;
  pr: number;
  reason: string;
}

/**
 * The environments to compare, grouped by repository. What counts is the
 * desired state with pending intents folded in, not the status: an
 * environment known only from a webhook (status "new", never reconciled) is
 * what a PR opened just before a stop looks like, and a `deleted` tombstone
 * with a reopen still in its inbox is about to come back; both must be closed
 * if their PR closed meanwhile. One whose desired state is closed already is
 * on its way down and needs nothing from GitHub.
 */
export async function liveRepositories(
  store: EnvironmentReader,
  repoIds: readonly number[] | undefined,
): Promise<{ repositories: LiveRepository[]; unknown: UnknownEnvironment[] }> {
  const keys = repoIds === undefined ? await store.listKeys() : (await Promise.all(repoIds.map((id) => store.listKeys(id)))).flat();
  const byRepo = new Map<number, LiveRepository>();
  const unknown: UnknownEnvironment[] = [];
  for (const key of keys.sort((a, b) => a.repoId - b.repoId || a.pr - b.pr)) {
    const view = await describeEnvironment(store, key);
    const desired = view?.desired;
    if (view === null || desired?.open !== true) continue;
    const [owner, name] = desired.repo.split("/");
    if (owner === undefined || name === undefined || desired.installationId === 0) {
      unknown.push(unknownOf(view, "no installation id or repository name recorded for it"));
      continue;
    }
    // Every environment of a repository carries its installation and name; the
    // first one seen stands for all (GitHub redirects a renamed repository).
    let repository = byRepo.get(key.repoId);
    if (repository === undefined) {
      repository = { repoId: key.repoId, owner, name, installationId: desired.installationId, environments: [] };
      byRepo.set(key.repoId, repository);
    }
    repository.environments.push({ key, headSha: desired.headSha });
  }
  return { repositories: [...byRepo.values()], unknown };
}

function unknownOf(view: EnvironmentView, reason: string): UnknownEnvironment {
  return { repoId: view.key.repoId, repo: repoNameOf(view), pr: view.key.pr, reason };
}
