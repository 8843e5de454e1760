import { EnvError } from "../../config/env.js";
import { BwrapSandbox, bwrapProblem } from "./bwrap-sandbox.js";
import { cgroupsV1Available, type StepLimits } from "./step-cgroups.js";
import { FirewallError, installStepFirewall, type BlockedEndpoint } from "./step-firewall.js";
import type { IsolationMode, StepSandbox } from "./step-sandbox.js";
import { UidLeases, type UidRange } from "./uid-leases.js";
import { UidSandbox } from "./uid-sandbox.js";
import { closedAncestor } from "./traversable.js";

/** Where step uids are leased: host-wide, root-only, emptied by a reboot (which ends every step too). */
export const UID_LEASE_DIR = "/run/ephemera/step-uids";

export interface StepIsolationSettings {
  readonly isolation: "auto" | "off";
  readonly uidRange: UidRange;
  /** Absolute: the root of the environments' working directories. */
  readonly workdirs: string;
  readonly limits: StepLimits;
}

export interface SandboxNeeds {
  /** The operator config's directory (relative script paths resolve against it): steps read it, never write it. */
  readonly configDir: string;
  /** Whether any template has a `run` step (setup or teardown): without, no isolation is needed to start. */
  readonly hasRunSteps: boolean;
  /** Absolute paths of the app's secret files and directories (key file, `.env`, data directory). */
  readonly hidden: readonly string[];
  /** What steps must not connect to (as root). */
  readonly blocked: readonly BlockedEndpoint[];
  readonly appPort: number;
  readonly log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** Tests point it elsewhere. */
  readonly uidLeaseDir?: string;
  /** Tests ask as if not root. */
  readonly isRoot?: boolean;
}

export interface OpenedSandbox {
  readonly mode: IsolationMode;
  /** Undefined when steps run unconfined (`off`, or no `run` step to confine). */
  readonly sandbox: StepSandbox | undefined;
}

const HOW_TO_ENABLE =
  "run Ephemera as root (each environment's steps then run as a uid of their own), or install bubblewrap and allow unprivileged user namespaces, or set EPHEMERA_STEP_ISOLATION=off to run PR code as the app (a laptop only)";

/**
 * Picks how steps are isolated (DESIGN §7): as root, a uid per environment
 * behind the step firewall; otherwise bubblewrap when it works here;
 * otherwise the app refuses to start if a template has a `run` step. `off`
 * is warned about at every start.
 */
export async function openStepSandbox(settings: StepIsolationSettings, needs: SandboxNeeds): Promise<OpenedSandbox> {
  if (settings.isolation === "off") {
    needs.log.warn({ isolation: "off" }, "EPHEMERA_STEP_ISOLATION=off: run steps execute PR code as the app's own user, with its files, environment and network; never use this for PRs you do not trust");
    return { mode: "off", sandbox: undefined };
  }
  const isRoot = needs.isRoot ?? process.getuid?.() === 0;
  if (isRoot) {
    const closed = closedAncestor(settings.workdirs);
    // Without a run step nothing would ever enter them.
    if (closed !== undefined && needs.hasRunSteps) {
      throw new EnvError([`EPHEMERA_WORKDIRS (${settings.workdirs}) is under ${closed}, which the step uids cannot enter: pick a place whose parent directories others may traverse (o+x), e.g. /var/lib/ephemera-workdirs`]);
    }
    const closedConfig = closedAncestor(`${needs.configDir}/.`);
    if (closedConfig !== undefined && needs.hasRunSteps) {
      needs.log.warn({ directory: closedConfig }, "step uids cannot enter the operator config's directory: run steps will not find scripts named relative to it");
    }
    try {
      const chain = await installStepFirewall({ uids: settings.uidRange, endpoints: needs.blocked, appPort: needs.appPort });
      needs.log.info({ isolation: "uid", chain }, "steps run as a uid of their environment's own, behind the step firewall");
    } catch (error) {
      if (!(error instanceof FirewallError)) throw error;
      throw new EnvError([`EPHEMERA_STEP_ISOLATION=auto: ${error.message}; steps as root need nftables (the nft command) to keep them off the store and the app's port, or set EPHEMERA_STEP_ISOLATION=off`]);
    }
    const sandbox = new UidSandbox({
      workdirs: settings.workdirs,
      leases: new UidLeases(needs.uidLeaseDir ?? UID_LEASE_DIR, settings.uidRange, settings.workdirs),
      limits: settings.limits,
      cgroups: cgroupsV1Available(),
    });
    return { mode: "uid", sandbox };
  }
  const problem = await bwrapProblem();
  if (problem === undefined) {
    needs.log.info({ isolation: "bwrap" }, "steps run under bubblewrap, without network");
    return { mode: "bwrap", sandbox: new BwrapSandbox({ workdirs: settings.workdirs, configDir: needs.configDir, hidden: needs.hidden, limits: settings.limits }) };
  }
  if (needs.hasRunSteps) throw new EnvError([`EPHEMERA_STEP_ISOLATION=auto cannot isolate run steps here (not root, and bubblewrap: ${problem}): ${HOW_TO_ENABLE}`]);
  return { mode: "off", sandbox: undefined };
}
