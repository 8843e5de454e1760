import { execFile } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { rm } from "node:fs/promises";
import { promisify } from "node:util";
import type { EnvKey } from "../../lifecycle/environment.js";
import type { ResourceOwner } from "../../lifecycle/provider.js";
import type { StepLimits } from "./step-cgroups.js";
import { prepareStepFiles, removeStepFiles, stepVariables } from "./step-files.js";
import type { StepLaunch, StepSandbox } from "./step-sandbox.js";
import { workdirOwner } from "./workdir-owner.js";
import { ensureWorkdirRoot, workdirOf } from "./workdirs.js";

const run = promisify(execFile);

/**
 * Without root: each step runs under bubblewrap, in new user, pid, network,
 * IPC and UTS namespaces. It sees only its own processes in /proc, has no
 * network at all (only a loopback of its own, so none of the app's
 * services), sees the system read-only, the app's secret files and
 * directories as empty, no other environment's working directory, and can
 * write only its own. `--die-with-parent` ends its pid namespace, and so
 * every process in it, when the app dies.
 *
 * Limits are rlimits: the step runs as the app's uid, so the process count
 * is shared by every step running at once (and the app's own threads).
 */

export interface BwrapSandboxOptions {
  readonly workdirs: string;
  /** The operator config's directory: shown read-only, even where it lies under a directory the sandbox empties (/tmp). */
  readonly configDir: string;
  /** The app's key file, `.env`, data directory: each is hidden from steps. */
  readonly hidden: readonly string[];
  readonly limits: StepLimits;
}

export class BwrapSandbox implements StepSandbox {
  readonly mode = "bwrap" as const;
  readonly owner: ResourceOwner;

  constructor(private readonly options: BwrapSandboxOptions) {
    this.owner = workdirOwner(options.workdirs, (env) => this.release(env));
  }

  async prepare(env: EnvKey): Promise<StepLaunch> {
    await ensureWorkdirRoot(this.options.workdirs);
    const files = await prepareStepFiles(this.options.workdirs, env, undefined);
    const { maxProcesses, memoryBytes } = this.options.limits;
    return {
      wrapper: [
        "prlimit", `--nproc=${maxProcesses}`, `--data=${memoryBytes}`, "--",
        ...BWRAP_BASE,
        "--ro-bind", this.options.configDir, this.options.configDir,
        ...hide(this.options.hidden),
        // Every working directory hidden, then this environment's own put back.
        "--tmpfs", this.options.workdirs,
        "--bind", files.workdir, files.workdir,
        "--bind", files.tmpdir, files.tmpdir,
        "--chdir", files.workdir,
        "--",
      ],
      cwd: files.workdir,
      variables: stepVariables(files),
      finish: () => removeStepFiles(files),
    };
  }

  async release(env: EnvKey): Promise<void> {
    // Nothing of a step outlives its pid namespace: only the directory is left.
    await rm(workdirOf(this.options.workdirs, env), { recursive: true, force: true });
  }
}

const BWRAP_BASE = [
  "bwrap", "--unshare-all", "--die-with-parent", "--new-session",
  "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--tmpfs", "/dev/shm",
];

/** A file shows as empty (/dev/null over it), a directory as an empty tmpfs; what does not exist needs no hiding. */
function hide(paths: readonly string[]): string[] {
  return paths.filter((path) => existsSync(path)).flatMap((path) => (statSync(path).isDirectory() ? ["--tmpfs", path] : ["--ro-bind", "/dev/null", path]));
}

/** Why bubblewrap cannot run here with the namespaces a step needs (unprivileged user namespaces allowed); undefined when it can. */
export async function bwrapProblem(): Promise<string | undefined> {
  try {
    await run(BWRAP_BASE[0] ?? "bwrap", [...BWRAP_BASE.slice(1), "--", "/bin/true"], { timeout: 10_000 });
    return undefined;
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    return (stderr?.trim() || message).slice(0, 300);
  }
}
