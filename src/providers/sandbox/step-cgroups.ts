import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** How much one step may use; beyond, its forks fail or the kernel kills it, never the app. */
export interface StepLimits {
  readonly maxProcesses: number;
  readonly memoryBytes: number;
}

const V1_ROOT = "/sys/fs/cgroup";
const CONTROLLERS = ["pids", "memory"] as const;

/** A step's control groups: its processes, and every process they start, are counted and limited together. */
export interface StepCgroup {
  /** Writing a pid into each puts that process in the step's groups. */
  readonly procsFiles: readonly string[];
  /** The pids of the step's processes are listed here. */
  readonly pidsFile: string;
  /** Removes the groups when no process is left in them (a daemon the step left keeps them until teardown). */
  removeIfEmpty(): Promise<void>;
}

/** cgroup v1 with the pids and memory controllers mounted, and writable (as root). */
export function cgroupsV1Available(): boolean {
  return CONTROLLERS.every((controller) => existsSync(join(V1_ROOT, controller, "cgroup.procs")));
}

/** `ephemera/u<uid>/<random>` in each controller; a uid's groups are removed together at teardown. */
export async function createStepCgroup(uid: number, limits: StepLimits): Promise<StepCgroup> {
  const name = join("ephemera", `u${uid}`, randomBytes(6).toString("hex"));
  const dirs = CONTROLLERS.map((controller) => join(V1_ROOT, controller, name));
  for (const dir of dirs) await mkdir(dir, { recursive: true });
  const [pidsDir, memoryDir] = dirs as [string, string];
  await writeFile(join(pidsDir, "pids.max"), String(limits.maxProcesses));
  await writeFile(join(memoryDir, "memory.limit_in_bytes"), String(limits.memoryBytes));
  return {
    procsFiles: dirs.map((dir) => join(dir, "cgroup.procs")),
    pidsFile: join(pidsDir, "cgroup.procs"),
    removeIfEmpty: () => removeGroups(dirs),
  };
}

/** Removes every group of `uid`'s steps; call it once its processes are gone. */
export async function removeUidCgroups(uid: number): Promise<void> {
  for (const controller of CONTROLLERS) {
    const uidDir = join(V1_ROOT, controller, "ephemera", `u${uid}`);
    const steps = await readdir(uidDir, { withFileTypes: true }).catch(() => []);
    await removeGroups([...steps.filter((entry) => entry.isDirectory()).map((entry) => join(uidDir, entry.name)), uidDir]);
  }
}

async function removeGroups(dirs: readonly string[]): Promise<void> {
  for (const dir of dirs) {
    // EBUSY: a process is still in it; ENOENT: gone already.
    await rmdir(dir).catch(() => undefined);
  }
}
