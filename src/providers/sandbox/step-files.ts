import { randomBytes } from "node:crypto";
import { chown, lstat, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** Where a step's own files live inside its environment's working directory. */
export interface StepFiles {
  readonly workdir: string;
  readonly tmpdir: string;
  readonly outputFile: string;
}

/**
 * Makes the working directory (0700, owned by `uid` when given) unless it is
 * there with that owner already (a directory left by a uid since freed is
 * scratch: it is made afresh), its `.tmp`, and a new empty output file.
 */
export async function prepareStepFiles(workdir: string, uid: number | undefined): Promise<StepFiles> {
  const existing = await lstat(workdir).catch(() => undefined);
  if (existing !== undefined && (!existing.isDirectory() || (uid !== undefined && existing.uid !== uid))) {
    await rm(workdir, { recursive: true, force: true });
  }
  const tmpdir = join(workdir, ".tmp");
  const outputFile = join(tmpdir, `ephemera-output-${randomBytes(8).toString("hex")}`);
  for (const dir of [workdir, tmpdir]) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (uid !== undefined) await chown(dir, uid, uid);
  }
  await writeFile(outputFile, "", { mode: 0o600, flag: "wx" });
  if (uid !== undefined) await chown(outputFile, uid, uid);
  return { workdir, tmpdir, outputFile };
}

export function stepVariables(files: StepFiles): Record<string, string> {
  return { EPHEMERA_WORKDIR: files.workdir, HOME: files.workdir, TMPDIR: files.tmpdir, EPHEMERA_OUTPUT: files.outputFile };
}
