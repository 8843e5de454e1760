import type { EnvKey } from "../lifecycle/environment.js";
import type { OwnedResource, ProviderLogger, ResourceOwner } from "./provider.js";

/**
 * The orphan audit (DESIGN §7): real resources carrying Ephemera's prefix
 * that no live environment claims are leaks, and are removed.
 *
 * A resource whose name carries the prefix but does not parse to an
 * environment is reported and never removed: it is not provably ours. Another
 * Ephemera instance with a longer prefix on the same server (`eph_staging_…`
 * under `eph_`), or an operator's template database named with the prefix,
 * looks exactly like that.
 *
 * Fail-safe: when `isClaimed` cannot answer, the environment counts as
 * claimed. It is asked right before that environment's resources are
 * removed, to keep the window in which a new environment could appear short.
 */

export interface AuditOptions {
  readonly owners: readonly ResourceOwner[];
  /** Whether a live environment (any status but `deleted`) exists for `env`. */
  readonly isClaimed: (env: EnvKey) => Promise<boolean>;
  /** Report only; remove nothing. */
  readonly dryRun: boolean;
  readonly log: ProviderLogger;
}

export interface AuditError {
  readonly owner: string;
  /** Null when the owner's resources could not even be listed. */
  readonly resource: OwnedResource | null;
  readonly message: string;
}

export interface AuditReport {
  /** Orphans: unclaimed, or prefixed but not parseable (`env: null`, never removed). */
  readonly found: OwnedResource[];
  readonly removed: OwnedResource[];
  readonly errors: AuditError[];
}

export async function auditOrphans(options: AuditOptions): Promise<AuditReport> {
  const report: AuditReport = { found: [], removed: [], errors: [] };
  for (const owner of options.owners) {
    let resources: OwnedResource[];
    try {
      resources = await owner.listOwned();
    } catch (error) {
      recordError(options, report, { owner: owner.name, resource: null, message: messageOf(error) });
      continue;
    }
    for (const group of groupByEnv(resources)) await auditGroup(options, report, owner, group);
  }
  return report;
}

/** One environment's resources, removed together and in the order the owner listed them. */
async function auditGroup(options: AuditOptions, report: AuditReport, owner: ResourceOwner, group: OwnedResource[]): Promise<void> {
  const env = group[0]?.env ?? null;
  if (env === null) {
    report.found.push(...group);
    options.log.warn({ owner: owner.name, names: group.map((resource) => resource.name) }, "resource carries the prefix but names no environment; left alone");
    return;
  }
  try {
    if (await options.isClaimed(env)) return;
  } catch (error) {
    recordError(options, report, { owner: owner.name, resource: group[0] ?? null, message: `could not tell whether it is claimed: ${messageOf(error)}` });
    return;
  }
  report.found.push(...group);
  if (options.dryRun) return;
  for (const resource of group) {
    try {
      await owner.removeOwned(resource);
      report.removed.push(resource);
      options.log.info({ owner: owner.name, kind: resource.kind, name: resource.name, env }, "removed an orphaned resource");
    } catch (error) {
      // What comes after may depend on it (a role that still owns its database).
      recordError(options, report, { owner: owner.name, resource, message: messageOf(error) });
      return;
    }
  }
}

function groupByEnv(resources: readonly OwnedResource[]): OwnedResource[][] {
  const groups = new Map<string, OwnedResource[]>();
  for (const resource of resources) {
    // Each unparseable resource stands alone: they share no environment.
    const key = resource.env === null ? `?${resource.kind}:${resource.name}` : `${resource.env.repoId}:${resource.env.pr}`;
    const group = groups.get(key);
    if (group) group.push(resource);
    else groups.set(key, [resource]);
  }
  return [...groups.values()];
}

function recordError(options: AuditOptions, report: AuditReport, error: AuditError): void {
  report.errors.push(error);
  options.log.warn({ owner: error.owner, resource: error.resource?.name, err: error.message }, "orphan audit could not handle a resource");
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
