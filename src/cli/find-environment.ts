import type { EnvironmentState, EnvironmentSummary, Lifecycle } from "../lifecycle/api.js";
import { describeRepo, type RepoArg } from "./args.js";
import { CliFailure } from "./command.js";

/**
 * The command line names a repository `owner/name`; the store knows it by
 * its numeric id. The names come from the environments themselves (their
 * config, or the desired state for one not yet created), compared as GitHub
 * compares them, ignoring case. A renamed repository answers to every name
 * its environments recorded.
 */

const KNOWN_SHOWN = 10;

/** The ids of the repositories `repo` names among `summaries`; fails, listing the known names, when none. */
export function repoIdsFor(repo: RepoArg, summaries: readonly EnvironmentSummary[]): number[] {
  if ("id" in repo) return [repo.id];
  const wanted = repo.name.toLowerCase();
  const ids = [...new Set(summaries.filter((summary) => summary.repo.toLowerCase() === wanted).map((summary) => summary.repoId))];
  if (ids.length > 0) return ids;
  const known = [...new Set(summaries.map((summary) => summary.repo).filter((name) => name !== ""))].sort();
  const hint =
    known.length === 0
      ? "the store holds no environments: are REDIS_URL, EPHEMERA_DATA_DIR and EPHEMERA_KEY_PREFIX the server's?"
      : `known: ${known.slice(0, KNOWN_SHOWN).join(", ")}${known.length > KNOWN_SHOWN ? ` and ${known.length - KNOWN_SHOWN} more` : ""}`;
  throw new CliFailure(`no environment in the store belongs to a repository named ${repo.name} (${hint})`);
}

/** The one environment of `repo` for PR `pr`; fails when there is none, or when the name is ambiguous. */
export async function findEnvironment(lifecycle: Lifecycle, repo: RepoArg, pr: number): Promise<EnvironmentState> {
  const ids = repoIdsFor(repo, "id" in repo ? [] : await lifecycle.list());
  const found = (await Promise.all(ids.map((repoId) => lifecycle.get({ repoId, pr })))).filter((state) => state !== null);
  const [only, ...more] = found;
  if (only !== undefined && more.length === 0) return only;
  if (only === undefined) throw new CliFailure(`${describeRepo(repo)} has no environment for PR #${pr}`);
  const idList = found.map((state) => state.key.repoId).join(", ");
  throw new CliFailure(`${describeRepo(repo)} names ${found.length} repositories with an environment for PR #${pr} (ids ${idList}): give the id instead of the name`);
}

/** `acme/web#42`, or the id when the name is not known yet. */
export function envLabel(repo: string, key: { repoId: number; pr: number }): string {
  return `${repo === "" ? key.repoId : repo}#${key.pr}`;
}

/** `envLabel` of an environment, named as its config, or else its desired state, last saw its repository. */
export function labelOf(state: Pick<EnvironmentState, "key" | "fields" | "desired">): string {
  return envLabel(state.fields.config?.repo ?? state.desired?.repo ?? "", state.key);
}
