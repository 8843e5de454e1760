import type { EnvKey } from "../../lifecycle/environment.js";
import type { ResourceOwner } from "../../lifecycle/provider.js";

/**
 * What a `run` step is confined by (DESIGN §7 "Isolation"). The run provider
 * asks the sandbox how to launch each step; the sandbox owns the
 * environment's working directory, its uid (as root) and what is left of
 * its processes.
 */

/** How the steps of this process are isolated, as `ephemera_step_isolation` reports it. */
export type IsolationMode = "uid" | "bwrap" | "off";

export interface StepSandbox {
  readonly mode: Exclude<IsolationMode, "off">;
  /** Makes (or finds) the environment's working directory and says how to run one step in it. */
  prepare(env: EnvKey): Promise<StepLaunch>;
  /** Kills every process of the environment, removes its working directory and frees its uid; done when nothing was there. */
  release(env: EnvKey): Promise<void>;
  /** The working directories of this host, for the orphan audit. */
  readonly owner: ResourceOwner;
}

export interface StepLaunch {
  /** Put before `/bin/sh -c <command>`: drops privileges, joins limits, enters the sandbox. */
  readonly wrapper: readonly string[];
  /** The step's cwd: its environment's working directory. */
  readonly cwd: string;
  /** `EPHEMERA_WORKDIR`, `HOME`, `TMPDIR`, `EPHEMERA_OUTPUT`. */
  readonly variables: Readonly<Record<string, string>>;
  /**
   * A process started before the step, with a pipe from the app as its stdin:
   * it kills the step's processes when the pipe closes without the word
   * `done`, that is when the app died. Absent where the sandbox itself dies
   * with the app (bubblewrap's --die-with-parent).
   */
  readonly watchdog?: readonly string[];
  /** The uid the output file must belong to; undefined when it is the app's own. */
  readonly stepUid?: number;
  /** Removes what only this step used (its output file, its limits); the workdir stays. */
  finish(): Promise<void>;
}
