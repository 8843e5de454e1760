import { rm } from "node:fs/promises";
import type { EnvKey } from "../../lifecycle/environment.js";
import type { ResourceOwner } from "../../lifecycle/provider.js";
import { killAllOfUid } from "./kill-uid.js";
import { createStepCgroup, removeUidCgroups, type StepCgroup, type StepLimits } from "./step-cgroups.js";
import { prepareStepFiles, removeStepFiles, stepVariables } from "./step-files.js";
import type { StepLaunch, StepSandbox } from "./step-sandbox.js";
import type { UidLeases } from "./uid-leases.js";
import { workdirOwner } from "./workdir-owner.js";
import { ensureWorkdirRoot, workdirOf } from "./workdirs.js";

/**
 * As root: each environment's steps run as a uid (and gid) of its own, with
 * no supplementary groups and no way to gain privileges back (setuid
 * binaries included), in a working directory only that uid can enter. The
 * firewall (./step-firewall.ts) keys on the same uid range.
 *
 * Limits: each step gets cgroups (process count, memory) where cgroup v1 is
 * mounted, else rlimits (RLIMIT_NPROC counts every process of the uid).
 * A watchdog kills the step's processes, `setsid` ones included, if the app
 * dies while the step runs.
 */

/** Joins the step's cgroups (paths before `--`), then runs the rest. */
const JOIN_CGROUPS = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"';

/**
 * Waits on its stdin, a pipe from the app: the word `done` means the step
 * ended while the app lived. End of file without it means the app died, and
 * then every process in the step's cgroups is killed and the groups removed.
 * Arguments: the step's cgroup.procs files, the pids controller's first.
 */
const WATCH_CGROUP = `read -r word; [ "$word" = done ] && exit 0
i=0; while [ $i -lt 200 ]; do pids=$(cat "$1" 2>/dev/null); [ -z "$pids" ] && break; kill -9 $pids 2>/dev/null; i=$((i+1)); done
i=0; while [ $i -lt 20 ]; do left=0; for f; do rmdir "\${f%/cgroup.procs}" 2>/dev/null || [ ! -d "\${f%/cgroup.procs}" ] || left=1; done; [ $left = 0 ] && exit 0; sleep 0.1; i=$((i+1)); done`;
/** The same without cgroups: then the process of the step's uid kills every process of that uid. */
const WATCH_UID = `read -r word; [ "$word" = done ] && exit 0; shift; exec "$@"`;

export interface UidSandboxOptions {
  readonly workdirs: string;
  readonly leases: UidLeases;
  readonly limits: StepLimits;
  /** Whether cgroup v1 (pids, memory) can be used; rlimits otherwise. */
  readonly cgroups: boolean;
}

export class UidSandbox implements StepSandbox {
  readonly mode = "uid" as const;
  readonly owner: ResourceOwner;

  constructor(private readonly options: UidSandboxOptions) {
    this.owner = workdirOwner(options.workdirs, (env) => this.release(env));
  }

  async prepare(env: EnvKey): Promise<StepLaunch> {
    const { uid, fresh } = await this.options.leases.acquire(env);
    // A uid freed by a crash may still run what its last environment started.
    if (fresh) await killAllOfUid(uid);
    await ensureWorkdirRoot(this.options.workdirs);
    const files = await prepareStepFiles(this.options.workdirs, env, uid);
    const dropPrivileges = ["setpriv", `--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", "--no-new-privs", "--"];
    const cgroup: StepCgroup | undefined = this.options.cgroups ? await createStepCgroup(uid, this.options.limits) : undefined;
    const { maxProcesses, memoryBytes } = this.options.limits;
    return {
      wrapper: cgroup
        ? ["/bin/sh", "-c", JOIN_CGROUPS, "join", ...cgroup.procsFiles, "--", ...dropPrivileges]
        : ["prlimit", `--nproc=${maxProcesses}`, `--data=${memoryBytes}`, "--", ...dropPrivileges],
      watchdog: cgroup
        ? ["/bin/sh", "-c", WATCH_CGROUP, "watchdog", ...cgroup.procsFiles]
        : ["/bin/sh", "-c", WATCH_UID, "watchdog", "--", ...dropPrivileges, "/bin/sh", "-c", "kill -KILL -1; kill -KILL -1"],
      cwd: files.workdir,
      variables: stepVariables(files),
      stepUid: uid,
      async finish() {
        await removeStepFiles(files);
        await cgroup?.removeIfEmpty();
      },
    };
  }

  async release(env: EnvKey): Promise<void> {
    const uid = await this.options.leases.find(env);
    if (uid !== undefined) {
      await killAllOfUid(uid);
      await removeUidCgroups(uid);
    }
    await rm(workdirOf(this.options.workdirs, env), { recursive: true, force: true });
    // Last: the uid is free only once nothing of it is left.
    if (uid !== undefined) await this.options.leases.free(uid);
  }
}
