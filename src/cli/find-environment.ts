import { describeEnvironment, repoNameOf, type EnvironmentReader, type EnvironmentView } from "../read-model/describe-environment.js";
import { repoIdsNamed, type RepoRef } from "../read-model/environment-filter.js";
import { listEnvironments, type ListedEnvironment } from "../read-model/list-environments.js";
import { describeRepo } from "./args.js";
import { CliFailure } from "./command.js";

/**
 * The command line names a repository `owner/name` (see `repoIdsNamed`); a
 * name no environment recorded is a mistake the operator is told about,
 * with the names the store does know.
 */

const KNOWN_SHOWN = 10;

/** The ids of the repositories `repo` names among `environments`; fails, listing the known names, when none. */
export function repoIdsFor(repo: RepoRef, environments: readonly Pick<ListedEnvironment, "repo" | "repoId">[]): number[] {
  const ids = repoIdsNamed(repo, environments);
  if (ids.length > 0 || "id" in repo) return ids;
  const known = [...new Set(environments.map((environment) => environment.repo).filter((name) => name !== ""))].sort();
  const hint =
    known.length === 0
      ? "the store holds no environments: are REDIS_URL, EPHEMERA_DATA_DIR and EPHEMERA_KEY_PREFIX the server's?"
      : `known: ${known.slice(0, KNOWN_SHOWN).join(", ")}${known.length > KNOWN_SHOWN ? ` and ${known.length - KNOWN_SHOWN} more` : ""}`;
  throw new CliFailure(`no environment in the store belongs to a repository named ${repo.name} (${hint})`);
}

/** The one environment of `repo` for PR `pr`; fails when there is none, or when the name is ambiguous. */
export async function findEnvironment(store: EnvironmentReader, repo: RepoRef, pr: number): Promise<EnvironmentView> {
  const ids = repoIdsFor(repo, "id" in repo ? [] : await listEnvironments(store));
  const found = (await Promise.all(ids.map((repoId) => describeEnvironment(store, { repoId, pr })))).filter((view) => view !== null);
  const [only, ...more] = found;
  if (only !== undefined && more.length === 0) return only;
  if (only === undefined) throw new CliFailure(`${describeRepo(repo)} has no environment for PR #${pr}`);
  const idList = found.map((view) => view.key.repoId).join(", ");
  throw new CliFailure(`${describeRepo(repo)} names ${found.length} repositories with an environment for PR #${pr} (ids ${idList}): give the id instead of the name`);
}

/** `acme/web#42`, or the id when the name is not known yet. */
export function envLabel(repo: string, key: { repoId: number; pr: number }): string {
  return `${repo === "" ? key.repoId : repo}#${key.pr}`;
}

/** `envLabel` of an environment, named as its config, or else its desired state, last saw its repository. */
export function labelOf(state: Pick<EnvironmentView, "key" | "fields" | "desired">): string {
  return envLabel(repoNameOf(state), state.key);
}
