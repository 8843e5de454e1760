import type { ServerResponse } from "node:http";
import type { z } from "zod";
import { describeEnvironment, repoNameOf, type EnvironmentReader, type EnvironmentView } from "../read-model/describe-environment.js";
import { matchingEnvironments, repoIdsNamed, repoRefSchema, statusOrNewSchema } from "../read-model/environment-filter.js";
import { listEnvironments, type ListedEnvironment } from "../read-model/list-environments.js";
import { redactText, redactValue } from "../read-model/redact.js";
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

/** A query parameter that does not parse: 400, with its problem. */
class BadQuery extends Error {}

export function adminApiHandler(store: EnvironmentReader, adminToken: string | undefined) {
  const owns = (path: string) => path === LIST_PATH || path.startsWith(`${LIST_PATH}/`);
  return adminRoute(adminToken, owns, async (path, query, res) => {
    try {
      if (path === LIST_PATH) return sendJson(res, 200, await listed(store, query));
      const match = ONE_PATH.exec(path);
      if (match === null) return sendJson(res, 404, { error: `no such route: GET ${LIST_PATH} or ${LIST_PATH}/<repoId>/<pr>` });
      const key = { repoId: Number(match[1]), pr: Number(match[2]) };
      const view = await describeEnvironment(store, key);
      if (view === null) return sendJson(res, 404, { error: `no environment for repository id ${key.repoId}, PR #${key.pr}` });
      return sendJson(res, 200, inspected(view));
    } catch (error) {
      if (error instanceof BadQuery) return sendJson(res, 400, { error: error.message });
      return sendJson(res, 503, { error: storeFailure(error) });
    }
  });
}

/**
 * The CLI's `list --json` rows, filtered by `?repo=owner/name|id` and
 * `?status=`, redacted. A repository name no environment recorded matches
 * nothing (where the CLI fails, listing the names it knows).
 */
async function listed(store: EnvironmentReader, query: URLSearchParams): Promise<ListedEnvironment[]> {
  // Named as the CLI names --repo and --status, so both say the same of a bad value.
  const repo = queryValue(query, "repo", repoRefSchema, "repository");
  const status = queryValue(query, "status", statusOrNewSchema, "--status");
  const environments = await listEnvironments(store);
  return redactValue(matchingEnvironments(environments, { repoIds: repo === undefined ? undefined : repoIdsNamed(repo, environments), status }));
}

function queryValue<S extends z.ZodType>(query: URLSearchParams, name: string, schema: S, what: string): z.output<S> | undefined {
  const text = query.get(name);
  if (text === null) return undefined;
  const result = schema.safeParse(text);
  if (result.success) return result.data;
  throw new BadQuery(`${what}: ${result.error.issues[0]?.message ?? "is not valid"}`);
}

function inspected(view: EnvironmentView) {
  const { key, fields, desired, pendingIntents, events, dueAt } = view;
  return redactValue({ key, repo: repoNameOf(view), fields, desired, pendingIntents, events, dueAt: dueAt === null ? null : new Date(dueAt).toISOString() });
}

export function storeFailure(error: unknown): string {
  return `the store could not be read: ${redactText(error instanceof Error ? error.message : String(error))}`;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res
    .writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff" })
    .end(`${JSON.stringify(body, null, 2)}\n`);
}
