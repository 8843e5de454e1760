import { RunProvider } from "../../../src/providers/run-provider.js";
import { openStepSandbox } from "../../../src/providers/sandbox/open-step-sandbox.js";
import { UidLeases } from "../../../src/providers/sandbox/uid-leases.js";
import { UidSandbox } from "../../../src/providers/sandbox/uid-sandbox.js";
import type { StepSandbox } from "../../../src/providers/sandbox/step-sandbox.js";
import type { StepFailedError } from "../../../src/lifecycle/provider.js";

/**
 * One step run by the real RunProvider in a process of its own, for the
 * tests that need one: a worker to kill -9 mid-step, or an app that is not
 * root. Prints `mode=<mode>` once the sandbox is chosen, then the outcome as
 * one JSON line.
 */

export interface StepRunnerParams {
  /** `uid`: as root, a UidSandbox; `auto`: whatever openStepSandbox picks for this user. */
  mode: "uid" | "auto";
  configDir: string;
  workdirs: string;
  leaseDir: string;
  uidRange: { first: number; last: number };
  hidden: string[];
  command: string;
}

const params = JSON.parse(process.env.STEP_RUNNER_PARAMS ?? "{}") as StepRunnerParams;
const limits = { maxProcesses: 256, memoryBytes: 1024 ** 3 };
const log = { info: () => undefined, warn: () => undefined };
let sandbox: StepSandbox | undefined;
if (params.mode === "uid") {
  sandbox = new UidSandbox({ workdirs: params.workdirs, leases: new UidLeases(params.leaseDir, params.uidRange, params.workdirs), limits, cgroups: true });
} else {
  const settings = { isolation: "auto" as const, uidRange: params.uidRange, workdirs: params.workdirs, limits };
  sandbox = (await openStepSandbox(settings, { configDir: params.configDir, hasRunSteps: true, hidden: params.hidden, blocked: [], appPort: 1, log, uidLeaseDir: params.leaseDir })).sandbox;
}
process.stdout.write(`mode=${sandbox?.mode ?? "off"}\n`);
const ctx = {
  repo: "octo/app",
  repoId: 4242,
  pr: 1,
  sha: "c0ffee".padEnd(40, "0"),
  ref: "main",
  expiresAt: "2030-01-01T00:00:00.000Z",
  phase: "setup" as const,
  outputs: {},
  secrets: {},
  signal: new AbortController().signal,
  log,
};
try {
  const outcome = await new RunProvider({ cwd: params.configDir, sandbox }).create({ name: "probe", run: params.command }, ctx);
  process.stdout.write(`${JSON.stringify({ outputs: outcome.outputs })}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ error: (error as Error).message, tail: (error as StepFailedError).outputTail })}\n`);
}
