import { constants } from "node:fs";
import { open } from "node:fs/promises";

/** The most a step may write to `$EPHEMERA_OUTPUT` (DESIGN §7): outputs are names and URLs, not payloads. */
export const OUTPUT_FILE_CAP_BYTES = 64 * 1024;

export class OutputFileError extends Error {}

/**
 * Reads a step's output file as the app, which may see more than the step
 * does: the file is opened without following a symlink, must be a regular
 * file with one link (not a hard link to something the step cannot read),
 * owned by the step's uid when it has one, and at most the cap.
 */
export async function readStepOutputFile(path: string, stepUid: number | undefined): Promise<string> {
  const file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ELOOP") throw new OutputFileError("is a symbolic link");
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (file === undefined) return "";
  try {
    const stat = await file.stat();
    if (!stat.isFile() || stat.nlink !== 1) throw new OutputFileError("is not a plain file of the step's own");
    if (stepUid !== undefined && stat.uid !== stepUid) throw new OutputFileError("is not the step's own file");
    const buffer = Buffer.alloc(OUTPUT_FILE_CAP_BYTES + 1);
    const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
    if (bytesRead > OUTPUT_FILE_CAP_BYTES) throw new OutputFileError(`is larger than ${OUTPUT_FILE_CAP_BYTES / 1024} KiB`);
    return buffer.subarray(0, bytesRead).toString("utf8");
  } finally {
    await file.close();
  }
}
