import { prArg, repoArg } from "../args.js";
import { positionals, type Command } from "../command.js";
import { findEnvironment } from "../find-environment.js";
import { renderEnvironment } from "../render-environment.js";

export const inspect: Command = {
  name: "inspect",
  summary: "show one environment: every field, its checkpoints and recent events",
  help: `Usage: ephemera inspect <owner/name> <pr> [--json]

Shows everything the store holds about one environment: its status, expiry,
URL, template, head, GitHub comment and deployments, setup progress, the
desired state (with intents not yet reconciled), every checkpoint with its
outputs, and the last 30 events. Secrets never show: sealed outputs print as
[sealed], outputs named like password/secret/token as [redacted], and the
credentials of any URL as [redacted].

<owner/name> may also be the numeric repository id.

Options:
  --json  the same as JSON: { key, fields, desired, inbox, events, dueAt }`,
  options: { json: { type: "boolean" } },

  async run(args, cli) {
    const [repoText, prText] = positionals(args, ["owner/name", "pr"]);
    const repo = repoArg(repoText);
    const pr = prArg(prText);
    const view = await findEnvironment((await cli.runtime()).store, repo, pr);
    if (args.values.json === true) {
      const { key, fields, desired, inbox, events, dueAt } = view;
      cli.out.json({ key, fields, desired, inbox, events, dueAt: dueAt === null ? null : new Date(dueAt).toISOString() });
    } else {
      for (const line of renderEnvironment(view, Date.now())) cli.out.print(line);
    }
    return 0;
  },
};
