import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StepLaunch } from "./step-sandbox.js";

/**
 * `EPHEMERA_STEP_ISOLATION=off`: the step runs as the app, in the operator
 * config's directory, with only its output file in a private temporary
 * directory. Nothing is confined: for a laptop, never for PRs of strangers.
 */
export async function unconfinedLaunch(cwd: string): Promise<StepLaunch> {
  const dir = await mkdtemp(join(tmpdir(), "ephemera-step-"));
  const outputFile = join(dir, "output");
  await writeFile(outputFile, "", { mode: 0o600 });
  return {
    wrapper: [],
    cwd,
    variables: { EPHEMERA_OUTPUT: outputFile },
    finish: () => rm(dir, { recursive: true, force: true }),
  };
}
