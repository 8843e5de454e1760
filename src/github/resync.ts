import type { Logger } from "pino";
import type { ProbotOctokit } from "probot";
import type { Lifecycle } from "../lifecycle/api.js";
import { httpStatus } from "./github-api.js";
import type { RepositoryScope } from "./installation-clients.js";
import { driftOf, type PullRequest } from "./resync/drift.js";
import { liveRepositories, type LiveEnvironment, type LiveRepository, type UnknownEnvironment } from "./resync/live-repositories.js";
import type { EnvironmentReader } from "../read-model/describe-environment.js";

export type { UnknownEnvironment } from "./resync/live-repositories.js";

/**
 * Resync (DESIGN §8): compares the environments Ephemera believes open with
 * GitHub's open PRs and records what webhooks missed while the app was away,
 * a push or a close. It is fail-safe: an error, an empty or a truncated list
 * is "unknown", never "closed". A PR missing from the list is asked for by
 * itself, and only GitHub answering `state: "closed"` for it tears down.
 */

/** What resync calls on GitHub: Probot's Octokit, or a plain `@octokit/rest` one (the CLI). */
export type PullsReader = Pick<ProbotOctokit, "paginate" | "rest">;

export interface ResyncDeps {
  /** Where the environments are read (the read model's view of them). */
  store: EnvironmentReader;
  /** Where a missed push or close is recorded. */
  lifecycle: Pick<Lifecycle, "record">;
  /** A client that reaches only the repository with this id (`InstallationClients.forRepository`). */
  clientFor: (scope: RepositoryScope) => Promise<PullsReader>;
  log: Logger;
  /** Only these repositories (the CLI's `resync --repo`); default: every one with environments. */
  repoIds?: readonly number[];
}

export interface ResyncReport {
  /** Repositories compared with GitHub. */
  repositories: number;
  /** Environments whose PR Ephemera believes open. */
  checked: number;
  /** Pushes missed while away: renewal recorded. */
  renewed: number;
  /** PRs GitHub says are closed: teardown recorded. */
  closed: number;
  /** Environments left as they are because GitHub's answer was missing or unclear. */
  unknown: UnknownEnvironment[];
}

export async function resync(deps: ResyncDeps): Promise<ResyncReport> {
  const log = deps.log.child({ name: "resync" });
  const { repositories, unknown } = await liveRepositories(deps.store, deps.repoIds);
  const checked = unknown.length + repositories.reduce((sum, repository) => sum + repository.environments.length, 0);
  const report: ResyncReport = { repositories: repositories.length, checked, renewed: 0, closed: 0, unknown };
  for (const repository of repositories) await resyncRepository(repository, deps, log, report);
  const { renewed, closed } = report;
  log.info({ repositories: repositories.length, checked, renewed, closed, unknown: unknown.length }, "resync with GitHub done");
  return report;
}

/**
 * The repository's open PRs, in one paginated call (a PR left off a short or
 * cut page is asked for by itself). The name is the one its environments
 * recorded; a 404 there may be a rename, so the repository is looked up by
 * its id among what the client reaches (a client scoped to it reaches it
 * alone) and listed under its name of now. Returns the name it listed.
 */
async function listOpen(octokit: PullsReader, repository: LiveRepository, log: Logger): Promise<{ where: RepoName; open: PullRequest[] }> {
  const list = async (where: RepoName) => ({ where, open: (await octokit.paginate(octokit.rest.pulls.list, { ...where, state: "open", per_page: 100 })) as PullRequest[] });
  try {
    return await list({ owner: repository.owner, repo: repository.name });
  } catch (error) {
    if (httpStatus(error) !== 404) throw error;
    const reachable = await octokit.paginate(octokit.rest.apps.listReposAccessibleToInstallation, { per_page: 100 });
    const now = reachable.find((candidate) => candidate.id === repository.repoId);
    if (now === undefined || now.full_name === `${repository.owner}/${repository.name}`) throw error;
    log.info({ now: now.full_name }, "repository renamed or transferred since its environments were recorded; listed under its name of now");
    return list({ owner: now.owner.login, repo: now.name });
  }
}

interface RepoName {
  owner: string;
  repo: string;
}

type Answer<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Any failure (HTTP error, rate limit, network, timeout) becomes a reason: resync only ever acts on an answer. */
async function answer<T>(call: () => Promise<T>): Promise<Answer<T>> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    const status = httpStatus(error);
    if (status !== undefined) return { ok: false, reason: `HTTP ${status}` };
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

async function resyncRepository(repository: LiveRepository, deps: ResyncDeps, rootLog: Logger, report: ResyncReport): Promise<void> {
  const { repoId, owner, name } = repository;
  const log = rootLog.child({ repoId, repo: `${owner}/${name}` });
  const unknown = (environment: LiveEnvironment, reason: string) => report.unknown.push({ repoId, repo: `${owner}/${name}`, pr: environment.key.pr, reason });

  const listed = await answer(async () => {
    const octokit = await deps.clientFor({ installationId: repository.installationId, repoId });
    const { where, open } = await listOpen(octokit, repository, log);
    return { octokit, where, open: new Map(open.map((pr) => [pr.number, pr])) };
  });
  if (!listed.ok) {
    log.warn({ reason: listed.reason }, "could not list open pull requests; this repository's environments stay as they are until the next resync");
    for (const environment of repository.environments) unknown(environment, `listing open pull requests failed: ${listed.reason}`);
    return;
  }

  const { octokit, where, open } = listed.value;
  for (const environment of repository.environments) {
    const pr = environment.key.pr;
    const listedPr = open.get(pr);
    const fetched: Answer<PullRequest> = listedPr
      ? { ok: true, value: listedPr }
      : await answer(async () => (await octokit.rest.pulls.get({ ...where, pull_number: pr })).data);
    if (!fetched.ok) {
      // A 404 too: the PR, the repository or our access may be gone, which is not "closed". Expiry reaps it in time.
      log.warn({ pr, reason: fetched.reason }, "not in the open list and GitHub did not say it is closed; left as it is");
      unknown(environment, `pull request not listed as open, and reading it failed: ${fetched.reason}`);
      continue;
    }
    const foundIn = fetched.value.base.repo.id;
    if (foundIn !== repoId) {
      // Drift to report, never to act on: the name reached another repository (a rename, then a new one with the old name).
      log.warn({ pr, foundIn }, "GitHub answered with a pull request of another repository; this environment is left as it is");
      unknown(environment, `pull request #${pr} read from ${where.owner}/${where.repo} belongs to repository ${foundIn}, not ${repoId}`);
      continue;
    }
    const drift = driftOf(repository, environment, fetched.value);
    if (drift === undefined) continue;
    const outcome = await deps.lifecycle.record(environment.key, drift.intent, drift.deliveryId);
    if (outcome === "recorded") report[drift.kind === "close" ? "closed" : "renewed"] += 1;
    log.info({ pr, outcome, at: drift.intent.at }, drift.kind === "close" ? "pull request closed while no webhook came: teardown recorded" : "push missed while no webhook came: renewal recorded");
  }
}
