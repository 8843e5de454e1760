import { auditClaims } from "../../lifecycle/claims.js";
import type { EnvKey } from "../../lifecycle/environment.js";
import { auditOrphans } from "../../providers/audit.js";
import type { OwnedResource } from "../../lifecycle/provider.js";
import { positionals, type Command } from "../command.js";

export const audit: Command = {
  name: "audit",
  runsSteps: true,
  summary: "find and remove resources no environment claims (orphans)",
  help: `Usage: ephemera audit [--dry-run] [--force]

Lists the real resources Ephemera's providers made (for postgres: databases
and roles named with Ephemera's prefix, on EPHEMERA_POSTGRES_URL) and removes
those no environment claims: none in the store, or only a tombstone (deleted)
with nothing waiting to bring it back. A resource that carries the prefix but
names no environment is reported and left alone. Exits 1 when a resource
could not be checked or removed.

Fail-safe: nothing is removed for a provider that no live environment in the
store uses (a wrong EPHEMERA_KEY_PREFIX or an emptied store looks like that),
and one run removes at most EPHEMERA_AUDIT_MAX_REMOVALS (default 20)
environments' resources and EPHEMERA_AUDIT_MAX_SHARE percent (default 50) of
the environments a provider lists; the output says what was held back.

Options:
  --dry-run  report what would be removed; remove nothing
  --force    remove every orphan found, past both safeguards`,
  options: { "dry-run": { type: "boolean" }, force: { type: "boolean" } },

  async run(args, cli) {
    positionals(args, []);
    const dryRun = args.values["dry-run"] === true;
    const force = args.values.force === true;
    const { owners, store, operator } = await cli.runtime();
    if (owners.length === 0) {
      cli.out.print("audit: nothing to audit: no provider that keeps listable resources is configured (postgres needs EPHEMERA_POSTGRES_URL)");
      return 0;
    }
    const progress = cli.out.progress("audit: environments checked");
    const claims = auditClaims(store, operator);
    const isClaimed = (env: EnvKey) => {
      progress.tick();
      return claims.isClaimed(env);
    };
    const report = await auditOrphans({ owners, isClaimed, inUse: claims.inUse, bounds: cli.env.auditBounds, force, dryRun, log: cli.log.child({ name: "audit" }) });
    progress.done();

    const removed = new Set(report.removed);
    const heldBack = new Set(report.heldBack);
    const actionOf = (resource: OwnedResource) => {
      if (resource.env === null) return "left alone (names no environment)";
      if (removed.has(resource)) return "removed";
      if (heldBack.has(resource)) return "held back";
      return dryRun ? "would remove" : "not removed";
    };
    cli.out.table(
      ["PROVIDER", "KIND", "NAME", "ENVIRONMENT", "ACTION"],
      report.found.map((resource) => [
        resource.provider,
        resource.kind,
        resource.name,
        resource.env === null ? "-" : `${resource.env.repoId}#${resource.env.pr}`,
        actionOf(resource),
      ]),
    );
    cli.out.print(`audit: ${report.found.length} orphaned resources found, ${report.removed.length} removed${dryRun ? " (dry run)" : ""}`);
    for (const note of report.notes) cli.out.print(`audit: ${note}`);
    for (const error of report.errors) cli.out.note(`audit: ${error.owner}${error.resource ? ` ${error.resource.name}` : ""}: ${error.message}`);
    return report.errors.length > 0 ? 1 : 0;
  },
};
