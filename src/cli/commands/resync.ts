import { resync as resyncRepositories, type ResyncReport } from "../../github/resync.js";
import { listEnvironments } from "../../read-model/list-environments.js";
import { repoArg } from "../args.js";
import { positionals, stringOption, type Command } from "../command.js";
import { repoIdsFor } from "../find-environment.js";

export const resync: Command = {
  name: "resync",
  writesStore: true,
  summary: "compare with GitHub's open PRs and record the drift",
  help: `Usage: ephemera resync [--repo <owner/name>]

Asks GitHub, as the App, for the open PRs of every repository with
environments (or of one), and records what webhooks missed: a push renews
the environment, a PR GitHub says is closed is torn down. It is fail-safe: a
PR GitHub gives no clear answer for is left as it is, and listed. The
intents are applied by a running Ephemera, or by \`ephemera gc\`. Needs APP_ID
and PRIVATE_KEY (and GHE_HOST for GitHub Enterprise Server). Exits 1 when
some environment could not be compared.

Options:
  --repo <owner/name>  only this repository`,
  options: { repo: { type: "string" } },

  async run(args, cli) {
    positionals(args, []);
    const repoText = stringOption(args, "repo");
    const clients = await cli.githubClients("resync");
    const lifecycle = await cli.lifecycle();
    const { store } = await cli.runtime();
    const environments = await listEnvironments(store);
    const repoIds = repoText === undefined ? [...new Set(environments.map((environment) => environment.repoId))] : repoIdsFor(repoArg(repoText), environments);

    // One repository at a time, so the progress bar moves with the work.
    const total: ResyncReport = { repositories: 0, checked: 0, renewed: 0, closed: 0, unknown: [] };
    const progress = cli.out.progress("resync: repositories", repoIds.length);
    for (const repoId of repoIds) {
      const report = await resyncRepositories({ store, lifecycle, clientFor: (scope) => clients.forRepository(scope), log: cli.log, repoIds: [repoId] });
      total.repositories += report.repositories;
      total.checked += report.checked;
      total.renewed += report.renewed;
      total.closed += report.closed;
      total.unknown.push(...report.unknown);
      progress.tick();
    }
    progress.done();

    const { repositories, checked, renewed, closed, unknown } = total;
    cli.out.print(`resync: ${repositories} repositories, ${checked} environments compared with GitHub: ${renewed} renewed, ${closed} closed, ${unknown.length} unknown`);
    for (const env of unknown) cli.out.print(`  unknown  ${env.repo || env.repoId}#${env.pr}  ${env.reason}`);
    if (renewed + closed > 0) cli.out.note("the recorded intents are applied by a running Ephemera, or by `ephemera gc`");
    return unknown.length > 0 ? 1 : 0;
  },
};
