import { liveEnvironmentClaims } from "../../lifecycle/claims.js";
import type { EnvKey } from "../../lifecycle/environment.js";
import { auditOrphans } from "../../providers/audit.js";
import { positionals, type Command } from "../command.js";

export const audit: Command = {
  name: "audit",
  summary: "find and remove resources no environment claims (orphans)",
  help: `Usage: ephemera audit [--dry-run]

Lists the real resources Ephemera's providers made (for postgres: databases
and roles named with Ephemera's prefix, on EPHEMERA_POSTGRES_URL) and removes
those no environment claims: none in the store, or only a tombstone (deleted)
with nothing waiting to bring it back. A resource that carries the prefix but
names no environment is reported and left alone. Exits 1 when a resource
could not be checked or removed.

Options:
  --dry-run  report what would be removed; remove nothing`,
  options: { "dry-run": { type: "boolean" } },

  async run(args, cli) {
    positionals(args, []);
    const dryRun = args.values["dry-run"] === true;
    const { owners, store } = await cli.runtime();
    if (owners.length === 0) {
      cli.out.print("audit: nothing to audit: no provider that keeps listable resources is configured (postgres needs EPHEMERA_POSTGRES_URL)");
      return 0;
    }
    const progress = cli.out.progress("audit: environments checked");
    const claimed = liveEnvironmentClaims(store);
    const isClaimed = (env: EnvKey) => {
      progress.tick();
      return claimed(env);
    };
    const report = await auditOrphans({ owners, isClaimed, dryRun, log: cli.log.child({ name: "audit" }) });
    progress.done();

    const removed = new Set(report.removed);
    cli.out.table(
      ["PROVIDER", "KIND", "NAME", "ENVIRONMENT", "ACTION"],
      report.found.map((resource) => [
        resource.provider,
        resource.kind,
        resource.name,
        resource.env === null ? "-" : `${resource.env.repoId}#${resource.env.pr}`,
        resource.env === null ? "left alone (names no environment)" : removed.has(resource) ? "removed" : dryRun ? "would remove" : "not removed",
      ]),
    );
    cli.out.print(`audit: ${report.found.length} orphaned resources found, ${report.removed.length} removed${dryRun ? " (dry run)" : ""}`);
    for (const error of report.errors) cli.out.note(`audit: ${error.owner}${error.resource ? ` ${error.resource.name}` : ""}: ${error.message}`);
    return report.errors.length > 0 ? 1 : 0;
  },
};
