import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { chown, lstat, mkdir, open, rm } from "node:fs/promises";
import { join } from "node:path";
import type { EnvKey } from "../../lifecycle/environment.js";
import { workdirOf } from "./workdirs.js";

/** A step's files: its environment's working directory, and scratch of its own (TMPDIR, the output file). */
export interface StepFiles {
  readonly workdir: string;
  /** Removed when the step ends. */
  readonly tmpdir: string;
  readonly outputFile: string;
}

/**
 * Makes the working directory (0700, owned by `uid` when given) unless it is
 * there with that owner already (a directory left by a uid since freed is
 * scratch: it is made afresh), and the step's scratch with a new empty
 * output file. The scratch is made in the root, which only the app may
 * write: nothing the app creates or hands to `uid` is under a path a step
 * controls, where a link it planted would point the app's root-owned
 * writes and chowns elsewhere. The output file is handed over by its
 * descriptor, before the directory is.
 */
export async function prepareStepFiles(root: string, env: EnvKey, uid: number | undefined): Promise<StepFiles> {
  const workdir = workdirOf(root, env);
  const existing = await lstat(workdir).catch(() => undefined);
  if (existing !== undefined && (!existing.isDirectory() || (uid !== undefined && existing.uid !== uid))) {
    await rm(workdir, { recursive: true, force: true });
  }
  await mkdir(workdir, { recursive: true, mode: 0o700 });
  if (uid !== undefined) await chown(workdir, uid, uid);
  const tmpdir = join(root, `${STEP_SCRATCH_PREFIX}${randomBytes(8).toString("hex")}`);
  await mkdir(tmpdir, { mode: 0o700 });
  const outputFile = join(tmpdir, "output");
  const handle = await open(outputFile, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, 0o600);
  try {
    if (uid !== undefined) await handle.chown(uid, uid);
  } finally {
    await handle.close();
  }
  if (uid !== undefined) await chown(tmpdir, uid, uid);
  return { workdir, tmpdir, outputFile };
}

/** A step's scratch directory in the working directories' root: never taken for an environment's (see `envOfWorkdirName`). */
export const STEP_SCRATCH_PREFIX = ".step-";

/** Ends a step's scratch; what it left inside goes too (a recursive rm follows no link). */
export function removeStepFiles(files: StepFiles): Promise<void> {
  return rm(files.tmpdir, { recursive: true, force: true });
}

export function stepVariables(files: StepFiles): Record<string, string> {
  return { EPHEMERA_WORKDIR: files.workdir, HOME: files.workdir, TMPDIR: files.tmpdir, EPHEMERA_OUTPUT: files.outputFile };
}
