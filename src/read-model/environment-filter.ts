import { z } from "zod";
import { STATUSES } from "../lifecycle/environment.js";
import type { StatusOrNew } from "../lifecycle/transitions.js";
import type { ListedEnvironment } from "./list-environments.js";

/**
 * Which environments a person asks for: the CLI's `<owner/name>`, `--repo`
 * and `--status`, the admin API's `?repo=` and `?status=`. Each entry point
 * parses the text with these schemas and reports a bad value its own way (a
 * usage error, a 400).
 */

/** `owner/name`, or the numeric repository id when a name is ambiguous (a repository deleted and re-created). */
export type RepoRef = { name: string } | { id: number };

export const repoRefSchema = z.union([
  z.string().regex(/^\d+$/).transform((id): RepoRef => ({ id: Number(id) })),
  z.string().regex(/^[\w.-]+\/[\w.-]+$/).transform((name): RepoRef => ({ name })),
], { error: (issue) => `${JSON.stringify(issue.input)} is not a repository (expected owner/name)` });

/** A status, or `new`: not reconciled yet. */
export const statusOrNewSchema = z.enum([...STATUSES, "new"], { error: (issue) => `${JSON.stringify(issue.input)} is not a status (one of: ${[...STATUSES, "new"].join(", ")})` });

export interface EnvironmentFilter {
  /** Only these repositories' (a name becomes ids with `repoIdsNamed`). */
  repoIds?: readonly number[] | undefined;
  status?: StatusOrNew | undefined;
}

/**
 * The ids of the repositories `repo` names among `environments`; none when
 * none. The store knows a repository by id, people by its name: the names
 * come from the environments themselves (their config, or the desired state
 * for one not yet created), compared as GitHub compares them, ignoring case.
 * A renamed repository answers to every name its environments recorded.
 */
export function repoIdsNamed(repo: RepoRef, environments: readonly Pick<ListedEnvironment, "repo" | "repoId">[]): number[] {
  if ("id" in repo) return [repo.id];
  const wanted = repo.name.toLowerCase();
  return [...new Set(environments.filter((environment) => environment.repo.toLowerCase() === wanted).map((environment) => environment.repoId))];
}

export function matchingEnvironments(environments: readonly ListedEnvironment[], filter: EnvironmentFilter): ListedEnvironment[] {
  const { repoIds, status } = filter;
  return environments.filter((environment) => (repoIds === undefined || repoIds.includes(environment.repoId)) && (status === undefined || environment.status === status));
}
