import { execFileSync } from "node:child_process";
import { chownSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../helpers/wait-for.js";
import { bundleStepRunner, startStepRunner } from "./step-runner-process.js";
import { sandboxRoot, testUidRange } from "./sandbox-fixtures.js";

/**
 * A step never outlives its worker (issue 11): when the process running it
 * is killed -9, every process of the step, a `setsid` one included, is gone
 * within 2 s, so the worker that runs it again never overlaps it.
 */

const NOBODY = 65534;
let root: ReturnType<typeof sandboxRoot>;
let bundle: string;

beforeAll(async () => {
  root = sandboxRoot();
  bundle = await bundleStepRunner(root.dir);
});

afterAll(() => root.dispose());

/** Live processes whose command line is exactly `sleep <seconds>` (zombies are dead: this machine's init does not reap them). */
function liveSleepers(seconds: number): number[] {
  try {
    return execFileSync("pgrep", ["-x", "-f", `sleep ${seconds}`], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean)
      .map(Number)
      .filter((pid) => !/^State:\s+Z/m.test(execFileSync("cat", [`/proc/${pid}/status`], { encoding: "utf8" })));
  } catch {
    return [];
  }
}

async function killMidStep(mode: "uid" | "auto", asUser?: number): Promise<void> {
  const dir = join(root.dir, `${mode}-${asUser ?? 0}`);
  mkdirSync(dir, { mode: 0o755 });
  if (asUser !== undefined) chownSync(dir, asUser, asUser);
  // A duration no other process on the machine sleeps, to find this step's processes by.
  const seconds = 40_000 + Math.floor(Math.random() * 50_000);
  const runner = startStepRunner(bundle, {
    mode,
    configDir: dir,
    workdirs: join(dir, "workdirs"),
    leaseDir: join(root.dir, "leases"),
    uidRange: testUidRange(),
    hidden: [],
    command: `setsid sleep ${seconds} > /dev/null 2>&1 < /dev/null & sleep ${seconds}`,
  }, asUser);
  await waitFor(() => liveSleepers(seconds).length === 2, runner.output, 15_000);
  runner.child.kill("SIGKILL");
  const killedAt = Date.now();
  await runner.exited;
  await waitFor(() => liveSleepers(seconds).length === 0, () => `still running: ${liveSleepers(seconds).join(", ")}`, 5_000);
  expect(Date.now() - killedAt).toBeLessThan(2_000);
}

describe("a step whose worker is killed -9", () => {
  it("dies with it as a uid of its own (root)", async () => {
    await killMidStep("uid");
  });

  it("dies with it under bubblewrap (an unprivileged app)", async () => {
    await killMidStep("auto", NOBODY);
  });
});
