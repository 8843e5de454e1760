import type { ServerResponse } from "node:http";
import { repoArg, statusArg, type RepoArg } from "../cli/args.js";
import { CliFailure, UsageError } from "../cli/command.js";
import type { ListedEnvironment } from "../cli/commands/list.js";
import { repoIdsFor } from "../cli/find-environment.js";
import { redactText, redactValue } from "../cli/redact.js";
import { environmentSince, type EnvironmentState, type Lifecycle } from "../lifecycle/api.js";
import type { StatusOrNew } from "../lifecycle/transitions.js";
import { adminRoute } from "./admin-auth.js";

/**
 * The admin API (DESIGN §2, §8), behind EPHEMERA_ADMIN_TOKEN and off without
 * it. Read-only on purpose: extending, tearing down and repairing are the
 * CLI's, which an operator runs with the store's credentials; a token on a
 * web port only lets people look.
 *
 * - `GET /api/environments[?repo=owner/name|id][&status=S]`: what the CLI's
 *   `list --json` prints;
 * - `GET /api/environments/<repoId>/<pr>`: one environment, as the CLI's
 *   `inspect --json` shows it (the number of pending intents in place of the
 *   intents themselves).
 *
 * Everything served is redacted as the CLI redacts its output.
 */

const LIST_PATH = "/api/environments";
const ONE_PATH = /^\/api\/environments\/(\d{1,15})\/(\d{1,10})$/;

export interface EnvironmentFilter {
  repo?: RepoArg | undefined;
  status?: StatusOrNew | undefined;
}

export function adminApiHandler(lifecycle: Lifecycle, adminToken: string | undefined) {
  const owns = (path: string) => path === LIST_PATH || path.startsWith(`${LIST_PATH}/`);
  return adminRoute(adminToken, owns, async (path, query, res) => {
    try {
      if (path === LIST_PATH) return sendJson(res, 200, await listEnvironments(lifecycle, filterOf(query)));
      const match = ONE_PATH.exec(path);
      if (match === null) return sendJson(res, 404, { error: `no such route: GET ${LIST_PATH} or ${LIST_PATH}/<repoId>/<pr>` });
      const key = { repoId: Number(match[1]), pr: Number(match[2]) };
      const state = await lifecycle.get(key);
      if (state === null) return sendJson(res, 404, { error: `no environment for repository id ${key.repoId}, PR #${key.pr}` });
      return sendJson(res, 200, inspected(state));
    } catch (error) {
      if (error instanceof UsageError) return sendJson(res, 400, { error: error.message });
      return sendJson(res, 503, { error: storeFailure(error) });
    }
  });
}

/** The CLI's `list --json` rows, oldest repository and PR first, redacted. */
export async function listEnvironments(lifecycle: Lifecycle, filter: EnvironmentFilter = {}): Promise<ListedEnvironment[]> {
  const summaries = await lifecycle.list();
  const repoIds = filter.repo === undefined ? undefined : new Set(knownRepoIds(filter.repo, summaries));
  const shown = summaries.filter((summary) => (repoIds === undefined || repoIds.has(summary.repoId)) && (filter.status === undefined || summary.status === filter.status));
  const rows = await Promise.all(
    shown.map(async ({ repo, repoId, pr, status, expiresAt, url }): Promise<ListedEnvironment> => {
      const state = await lifecycle.get({ repoId, pr });
      return { repo, repoId, pr, status, expiresAt, url, since: state && environmentSince(state) };
    }),
  );
  return redactValue(rows);
}

/** A filter naming a repository no environment belongs to matches nothing (the CLI's lookup fails, listing the known names). */
function knownRepoIds(repo: RepoArg, summaries: Parameters<typeof repoIdsFor>[1]): number[] {
  try {
    return repoIdsFor(repo, summaries);
  } catch (error) {
    if (error instanceof CliFailure) return [];
    throw error;
  }
}

/** `?repo=` and `?status=`, validated as the CLI validates `--repo` and `--status` (a UsageError when wrong). */
function filterOf(query: URLSearchParams): EnvironmentFilter {
  const repo = query.get("repo");
  const status = query.get("status");
  return { repo: repo === null ? undefined : repoArg(repo), status: status === null ? undefined : statusArg(status) };
}


function inspected(state: EnvironmentState) {
  const { key, fields, desired, pendingIntents, events, dueAt } = state;
  const repo = fields.config?.repo ?? desired?.repo ?? "";
  return redactValue({ key, repo, fields, desired, pendingIntents, events, dueAt: dueAt === null ? null : new Date(dueAt).toISOString() });
}

export function storeFailure(error: unknown): string {
  return `the store could not be read: ${redactText(error instanceof Error ? error.message : String(error))}`;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res
    .writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff" })
    .end(`${JSON.stringify(body, null, 2)}\n`);
}
