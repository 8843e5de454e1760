import { formatRelative } from "../../config/duration.js";
import { environmentSince, type EnvironmentSummary, type Lifecycle } from "../../lifecycle/api.js";
import { repoArg, statusArg } from "../args.js";
import { positionals, stringOption, type Command } from "../command.js";
import { repoIdsFor } from "../find-environment.js";

/** One environment as `list --json` prints it: DESIGN §8's fields, and when it came to be. */
export interface ListedEnvironment {
  repo: string;
  repoId: number;
  pr: number;
  status: EnvironmentSummary["status"];
  expiresAt: string | null;
  url: string | null;
  /** When it was created (or came back after a teardown); null when not known. */
  since: string | null;
}

export const list: Command = {
  name: "list",
  summary: "list environments, with their status, expiry and URL",
  help: `Usage: ephemera list [--repo <owner/name>] [--status <status>] [--json]

Lists every environment in the store, oldest repository and PR first.

Options:
  --repo <owner/name>  only this repository's
  --status <status>    only those with this status: pending, queued, provisioning,
                       ready, failed, tearing_down, deleted, or new (not reconciled yet)
  --json               a JSON array of { repo, repoId, pr, status, expiresAt, url, since }`,
  options: { repo: { type: "string" }, status: { type: "string" }, json: { type: "boolean" } },

  async run(args, cli) {
    positionals(args, []);
    const repoText = stringOption(args, "repo");
    const statusText = stringOption(args, "status");
    const repo = repoText === undefined ? undefined : repoArg(repoText);
    const status = statusText === undefined ? undefined : statusArg(statusText);
    const lifecycle = await cli.lifecycle();
    const summaries = await lifecycle.list();
    const repoIds = repo === undefined ? undefined : new Set(repoIdsFor(repo, summaries));
    const shown = summaries.filter((summary) => (repoIds === undefined || repoIds.has(summary.repoId)) && (status === undefined || summary.status === status));
    const rows = await Promise.all(shown.map((summary) => listed(lifecycle, summary)));

    if (args.values.json === true) {
      cli.out.json(rows);
      return 0;
    }
    if (rows.length === 0) {
      cli.out.print("No environments.");
      return 0;
    }
    const now = Date.now();
    const relative = (iso: string | null) => (iso === null ? "-" : formatRelative(Date.parse(iso) - now));
    cli.out.table(
      ["REPO", "PR", "STATUS", "EXPIRES", "URL", "AGE"],
      rows.map((row) => [row.repo || String(row.repoId), `#${row.pr}`, row.status, row.status === "deleted" ? "-" : relative(row.expiresAt), row.url ?? "-", relative(row.since)]),
    );
    return 0;
  },
};

async function listed(lifecycle: Lifecycle, summary: EnvironmentSummary): Promise<ListedEnvironment> {
  const state = await lifecycle.get({ repoId: summary.repoId, pr: summary.pr });
  const { repo, repoId, pr, status, expiresAt, url } = summary;
  return { repo, repoId, pr, status, expiresAt, url, since: state && environmentSince(state) };
}

