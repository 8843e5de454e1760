import { formatDuration } from "../../config/duration.js";
import type { EnvSnapshot } from "../../lifecycle/state-store.js";
import { prArg, repoArg } from "../args.js";
import { CliReconciler } from "../cli-reconciler.js";
import { positionals, type Command } from "../command.js";
import { findEnvironment, labelOf } from "../find-environment.js";
import { WAIT_HELP, WAIT_OPTION, waitMs } from "../wait-option.js";

export const teardown: Command = {
  name: "teardown",
  runsSteps: true,
  summary: "tear an environment down now, as /preview destroy does",
  help: `Usage: ephemera teardown <owner/name> <pr> [--wait <duration>]

Records a teardown (reason "operator"), then tears the environment down in
this process: the template's teardown commands and each provider's destroy,
under the teardown lock, exactly once even with the server running. Prints
the result; exits 1 when the teardown did not finish (a step failed: Ephemera
retries it with backoff). Needs the server's sealing key
(EPHEMERA_SECRET_KEY, or WEBHOOK_SECRET): teardown steps get the secret
outputs of setup steps. \`/preview deploy\` on the PR brings it back.

Options:
${WAIT_HELP}`,
  options: WAIT_OPTION,

  async run(args, cli) {
    const [repoText, prText] = positionals(args, ["owner/name", "pr"]);
    const repo = repoArg(repoText);
    const pr = prArg(prText);
    const wait = waitMs(args);
    const before = await findEnvironment((await cli.runtime()).store, repo, pr);
    const label = labelOf(before);
    if (before.fields.status === "deleted" && before.desired?.open !== true) {
      cli.out.print(`${label} is already torn down`);
      return 0;
    }

    const engine = await CliReconciler.open(cli, "teardown");
    await engine.lifecycle.requestTeardown(before.key);
    const { snapshot } = await engine.until(before.key, (now) => now === null || now.fields.status === "deleted" || failing(now), wait);
    await engine.finish();
    if (snapshot === null || snapshot.fields.status === "deleted") {
      cli.out.print(`${label} is torn down`);
      return 0;
    }
    const error = snapshot.fields.artifacts?.error;
    if (failing(snapshot) && error !== undefined) {
      cli.out.note(`${label}: teardown step "${error.step}" failed: ${error.message}\nEphemera retries it with backoff; \`ephemera inspect\` shows where it stands.`);
    } else {
      cli.out.note(`${label} is still ${snapshot.fields.status ?? "new"} after ${formatDuration(wait)}: another worker holds it; \`ephemera inspect\` shows where it stands`);
    }
    return 1;
  },
};

/** Our close is folded in, and a teardown action failed: it waits for its backoff. */
function failing(snapshot: EnvSnapshot): boolean {
  return !snapshot.inbox.some((intent) => intent.type === "close") && snapshot.fields.status === "tearing_down" && snapshot.fields.artifacts?.progress?.retry !== undefined;
}
