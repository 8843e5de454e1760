import { formatRelative } from "../../config/duration.js";
import { matchingEnvironments } from "../../read-model/environment-filter.js";
import { listEnvironments } from "../../read-model/list-environments.js";
import { repoArg, statusArg } from "../args.js";
import { positionals, stringOption, type Command } from "../command.js";
import { repoIdsFor } from "../find-environment.js";

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
    const environments = await listEnvironments((await cli.runtime()).store);
    const rows = matchingEnvironments(environments, { repoIds: repo === undefined ? undefined : repoIdsFor(repo, environments), status });

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
