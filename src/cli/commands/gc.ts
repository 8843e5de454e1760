import { CliReconciler } from "../cli-reconciler.js";
import { positionals, type Command } from "../command.js";
import { envLabel } from "../find-environment.js";

export const gc: Command = {
  name: "gc",
  runsSteps: true,
  summary: "reap what is expired now (reconcile everything due)",
  help: `Usage: ephemera gc

Reconciles, in this process, every environment that is due now, as the
server's reconciler would: expired environments are torn down (and, with
APP_ID and PRIVATE_KEY, their PRs told), and anything else that is due
(intents recorded while no server ran, retries whose backoff passed) is
applied too. Prints how many were due and which expired. Exits 1 when a
teardown did not finish. Needs the server's sealing key (EPHEMERA_SECRET_KEY,
or WEBHOOK_SECRET).`,
  options: {},

  async run(args, cli) {
    positionals(args, []);
    const engine = await CliReconciler.open(cli, "gc");
    const due = await engine.reapDue();
    await engine.finish();
    const touched = [...engine.touched.values()];
    const expired = touched.filter((env) => env.events.some((event) => event.event === "deleted" && event.detail === "expired"));
    const unfinished = touched.filter((env) => env.status === "tearing_down");
    cli.out.print(`gc: ${due} environments were due; ${expired.length} expired and ${expired.length === 1 ? "was" : "were"} torn down`);
    for (const env of expired) cli.out.print(`  torn down      ${envLabel(env.repo, env.key)}`);
    for (const env of unfinished) cli.out.print(`  tearing down   ${envLabel(env.repo, env.key)}  (a teardown step failed; retried with backoff)`);
    return unfinished.length > 0 ? 1 : 0;
  },
};
