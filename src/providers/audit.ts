import type { AuditBounds } from "../config/env.js";
import type { EnvKey } from "../lifecycle/environment.js";
import type { OwnedResource, ProviderLogger, ResourceOwner } from "../lifecycle/provider.js";

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
 * Fail-safe, because an audit that trusts a wrong answer removes everything:
 * - when `isClaimed` cannot answer, the environment counts as claimed; it is
 *   asked again right before that environment's resources are removed, to
 *   keep the window in which a new environment could appear short;
 * - nothing is removed for a provider that no live environment in the store
 *   uses: an emptied store or a wrong key prefix looks exactly like that;
 * - one run removes at most `maxRemovals` environments' resources and at most
 *   `maxShare` of the environments the provider lists; the next run goes on.
 * `force` lifts the last two, for an operator who has checked.
 */

export interface AuditOptions {
  readonly owners: readonly ResourceOwner[];
  /** Whether a live environment (any status but `deleted`) exists for `env`. */
  readonly isClaimed: (env: EnvKey) => Promise<boolean>;
  /** Whether the store holds a live environment whose template uses the provider named so. */
  readonly inUse: (provider: string) => Promise<boolean>;
  readonly bounds: AuditBounds;
  /** Remove every orphan found, whatever `inUse` and `bounds` say. */
  readonly force: boolean;
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
  /** Orphans left for a later run (or `--force`); `notes` say why. */
  readonly heldBack: OwnedResource[];
  readonly errors: AuditError[];
  /** Why orphans were held back, one line each, naming the provider. */
  readonly notes: string[];
}

export async function auditOrphans(options: AuditOptions): Promise<AuditReport> {
  const report: AuditReport = { found: [], removed: [], heldBack: [], errors: [], notes: [] };
  for (const owner of options.owners) {
    let resources: OwnedResource[];
    try {
      resources = await owner.listOwned();
    } catch (error) {
      recordError(options, report, { owner: owner.name, resource: null, message: messageOf(error) });
      continue;
    }
    await auditOwner(options, report, owner, groupByEnv(resources));
  }
  return report;
}

async function auditOwner(options: AuditOptions, report: AuditReport, owner: ResourceOwner, groups: OwnedResource[][]): Promise<void> {
  const orphans: OwnedResource[][] = [];
  let listed = 0;
  for (const group of groups) {
    if (group[0]?.env == null) {
      report.found.push(...group);
      options.log.warn({ owner: owner.name, names: group.map((resource) => resource.name) }, "resource carries the prefix but names no environment; left alone");
      continue;
    }
    listed += 1;
    if (await isClaimed(options, report, owner, group)) continue;
    report.found.push(...group);
    orphans.push(group);
  }
  if (orphans.length === 0) return;
  const allowed = await allowedRemovals(options, report, owner, orphans.length, listed);
  for (const [index, group] of orphans.entries()) {
    if (index >= allowed) report.heldBack.push(...group);
    else if (!options.dryRun && !(await isClaimed(options, report, owner, group))) await removeGroup(options, report, owner, group);
  }
}

/** How many of the `orphans` (environments) this run may remove; a note says why when fewer. */
async function allowedRemovals(options: AuditOptions, report: AuditReport, owner: ResourceOwner, orphans: number, listed: number): Promise<number> {
  if (options.force) return orphans;
  const held = (note: string) => {
    report.notes.push(note);
    options.log.warn({ owner: owner.name, orphans }, note);
  };
  try {
    if (!(await options.inUse(owner.name))) {
      held(
        `${owner.name}: holding back all ${orphans} orphaned environments: the store holds no live environment whose template uses ${owner.name}, ` +
          "as after a wrong EPHEMERA_KEY_PREFIX or an emptied store; check, then `npx ephemera audit --force` removes them",
      );
      return 0;
    }
  } catch (error) {
    recordError(options, report, { owner: owner.name, resource: null, message: `could not tell whether any environment uses it: ${messageOf(error)}` });
    return 0;
  }
  const { maxRemovals, maxShare } = options.bounds;
  const limit = Math.min(maxRemovals, Math.ceil(listed * maxShare));
  if (orphans > limit) {
    held(
      `${owner.name}: holding back ${orphans - limit} of ${orphans} orphaned environments: one run removes at most ${maxRemovals} and ${Math.round(maxShare * 100)}% of the ${listed} environments found ` +
        "(EPHEMERA_AUDIT_MAX_REMOVALS, EPHEMERA_AUDIT_MAX_SHARE); the next run goes on, or `npx ephemera audit --force` removes them now",
    );
  }
  return limit;
}

/** Fail-safe: an environment whose claim cannot be checked counts as claimed. */
async function isClaimed(options: AuditOptions, report: AuditReport, owner: ResourceOwner, group: OwnedResource[]): Promise<boolean> {
  const [first] = group;
  if (first?.env == null) return true;
  try {
    return await options.isClaimed(first.env);
  } catch (error) {
    recordError(options, report, { owner: owner.name, resource: first, message: `could not tell whether it is claimed: ${messageOf(error)}` });
    return true;
  }
}

/** One environment's resources, removed together and in the order the owner listed them. */
async function removeGroup(options: AuditOptions, report: AuditReport, owner: ResourceOwner, group: OwnedResource[]): Promise<void> {
  for (const resource of group) {
    try {
      await owner.removeOwned(resource);
      report.removed.push(resource);
      options.log.info({ owner: owner.name, kind: resource.kind, name: resource.name, env: resource.env }, "removed an orphaned resource");
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
