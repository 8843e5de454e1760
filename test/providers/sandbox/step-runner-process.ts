import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { StepRunnerParams } from "./step-runner.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

/** Bundles step-runner.ts with everything it imports into `dir`, readable by any user. */
export async function bundleStepRunner(dir: string): Promise<string> {
  const { build } = await import("esbuild");
  const outfile = join(dir, "step-runner.mjs");
  await build({
    entryPoints: [join(ROOT, "test/providers/sandbox/step-runner.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    absWorkingDir: ROOT,
    logLevel: "silent",
    // Bundled CommonJS dependencies require Node's own modules.
    banner: { js: 'import { createRequire } from "node:module"; const require = createRequire(import.meta.url);' },
  });
  chmodSync(outfile, 0o644);
  return outfile;
}

export interface StepRunnerProcess {
  readonly child: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  /** Resolves with its outcome line once it exits. */
  readonly exited: Promise<string>;
}

/** Starts the runner, as `asUser` (a uid) when given. */
export function startStepRunner(bundle: string, params: StepRunnerParams, asUser?: number): StepRunnerProcess {
  const argv = asUser === undefined ? [process.execPath, bundle] : ["setpriv", `--reuid=${asUser}`, `--regid=${asUser}`, "--clear-groups", process.execPath, bundle];
  const child = spawn(argv[0] ?? "", argv.slice(1), {
    env: { PATH: process.env.PATH, STEP_RUNNER_PARAMS: JSON.stringify(params) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  child.stdout?.on("data", (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<string>((resolve) => child.once("close", () => resolve(text.trim().split("\n").at(-1) ?? "")));
  return { child, output: () => text, exited };
}
