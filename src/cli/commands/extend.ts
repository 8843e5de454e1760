import { formatDuration, formatRelative } from "../../config/duration.js";
import { durationArg, prArg, repoArg } from "../args.js";
import { CliReconciler } from "../cli-reconciler.js";
import { CliFailure, positionals, type Command } from "../command.js";
import { findEnvironment, labelOf } from "../find-environment.js";
import { settlesWithoutGitHub } from "../stored-settings.js";
import { WAIT_HELP, WAIT_OPTION, waitMs } from "../wait-option.js";

/** Statuses an extension applies to: the environment exists and is not on its way down. */
const EXTENDABLE = new Set(["pending", "queued", "provisioning", "ready", "failed"]);

export const extend: Command = {
  name: "extend",
  runsSteps: true,
  summary: "extend an environment's life, as /preview extend does",
  help: `Usage: ephemera extend <owner/name> <pr> <duration> [--wait <duration>]

Adds <duration> (30m, 4h, 2d, 1h30m) to the environment's expiry, capped at
its template's maxTtl from now, as \`/preview extend\` does: the intent is
recorded, then this process reconciles the environment once and prints the
new expiry. Needs the server's sealing key (EPHEMERA_SECRET_KEY, or
WEBHOOK_SECRET). With APP_ID and PRIVATE_KEY the PR's comment is updated
too; without them, when the server next runs.

Options:
${WAIT_HELP}`,
  options: WAIT_OPTION,

  async run(args, cli) {
    const [repoText, prText, durationText] = positionals(args, ["owner/name", "pr", "duration"]);
    const repo = repoArg(repoText);
    const pr = prArg(prText);
    const byMs = durationArg(durationText);
    const wait = waitMs(args);
    const before = await findEnvironment((await cli.runtime()).store, repo, pr);
    const label = labelOf(before);
    const status = before.fields.status ?? "new";
    if (!EXTENDABLE.has(status) || before.desired?.open !== true) {
      const state = before.desired?.open === false && status !== "deleted" ? "being torn down" : status;
      throw new CliFailure(`${label} is ${state}: only a live environment can be extended`);
    }
    if (cli.env.github === undefined && !settlesWithoutGitHub(before)) {
      // See storedSettingsSource: a fork's gate may be its repository's stricter policy.
      throw new CliFailure(`${label} is a fork's, whose settings depend on its repository's .github/ephemera.yml: set APP_ID and PRIVATE_KEY, or use /preview extend`);
    }

    const engine = await CliReconciler.open(cli, "extend");
    await engine.lifecycle.extend(before.key, { actor: "ephemera-cli", byMs });
    const { snapshot, done } = await engine.until(before.key, (now) => !now?.inbox.some((intent) => intent.type === "extend"), wait);
    await engine.finish();
    if (!done) {
      cli.out.note(`${label}: the extension is recorded, but another worker holds the environment and has not applied it within ${formatDuration(wait)}; it will`);
      return 1;
    }
    const expiresAt = snapshot?.fields.expires_at;
    if (expiresAt === undefined) throw new CliFailure(`${label} has no expiry after the extension (status ${snapshot?.fields.status ?? "gone"})`);
    const previous = Date.parse(before.fields.expires_at ?? expiresAt);
    const capped = Date.parse(expiresAt) < previous + byMs;
    cli.out.print(`${label} expires ${expiresAt} (${formatRelative(Date.parse(expiresAt) - Date.now())})${capped ? ", capped at the template's maxTtl from now" : ""}`);
    return 0;
  },
};
