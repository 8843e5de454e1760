import { chmod, mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { EnvKey } from "../../lifecycle/environment.js";

/**
 * Each environment's working directory on this host: `<root>/env-<repoId>-<pr>`.
 * The root is the app's, `0711`: steps of another uid can reach their own
 * directory by its name but cannot list the others.
 */

const WORKDIR_NAME = /^env-(\d{1,15})-(\d{1,15})$/;

export function workdirOf(root: string, env: EnvKey): string {
  return join(root, `env-${env.repoId}-${env.pr}`);
}

export function envOfWorkdirName(name: string): EnvKey | null {
  const match = WORKDIR_NAME.exec(name);
  return match ? { repoId: Number(match[1]), pr: Number(match[2]) } : null;
}

export async function ensureWorkdirRoot(root: string): Promise<void> {
  await mkdir(root, { recursive: true, mode: 0o711 });
  // mkdir's mode is filtered by the umask and leaves an existing directory as it was.
  await chmod(root, 0o711);
}

/** The environments that have a working directory under `root`. */
export async function listWorkdirs(root: string): Promise<{ name: string; env: EnvKey }[]> {
  const names = await readdir(root).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [] as string[];
    throw error;
  });
  return names.flatMap((name) => {
    const env = envOfWorkdirName(name);
    return env ? [{ name, env }] : [];
  });
}
