import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EnvError } from "../../../src/config/env.js";
import { createMetrics } from "../../../src/metrics/registry.js";
import { installStepFirewall } from "../../../src/providers/sandbox/step-firewall.js";
import { openStepSandbox, type SandboxNeeds, type StepIsolationSettings } from "../../../src/providers/sandbox/open-step-sandbox.js";
import { sandboxRoot, testUidRange } from "./sandbox-fixtures.js";

/** Which isolation a process gets, and the start-up refusals that say how to get one. */

let root: ReturnType<typeof sandboxRoot>;
let warnings: string[];
const savedPath = process.env.PATH;

beforeEach(() => {
  root = sandboxRoot();
  warnings = [];
});

afterEach(() => {
  process.env.PATH = savedPath;
  root.dispose();
});

function settings(isolation: "auto" | "off"): StepIsolationSettings {
  return { isolation, uidRange: testUidRange(), workdirs: join(root.dir, "workdirs"), limits: { maxProcesses: 64, memoryBytes: 1024 ** 3 } };
}

function needs(overrides: Partial<SandboxNeeds>): SandboxNeeds {
  return {
    configDir: root.dir,
    hasRunSteps: true,
    hidden: [],
    blocked: [],
    appPort: 3000,
    log: { info: () => undefined, warn: (_obj, msg) => warnings.push(msg) },
    uidLeaseDir: join(root.dir, "leases"),
    ...overrides,
  };
}

describe("openStepSandbox", () => {
  it("refuses to start with run steps when it can neither use root nor bubblewrap, saying how to enable isolation", async () => {
    process.env.PATH = join(root.dir, "no-tools-here");
    const opening = openStepSandbox(settings("auto"), needs({ isRoot: false }));
    await expect(opening).rejects.toBeInstanceOf(EnvError);
    await expect(opening).rejects.toThrow(/cannot isolate run steps here .*run Ephemera as root.*install bubblewrap.*EPHEMERA_STEP_ISOLATION=off/);
  });

  it("starts unconfined when no template has a run step to confine", async () => {
    process.env.PATH = join(root.dir, "no-tools-here");
    await expect(openStepSandbox(settings("auto"), needs({ isRoot: false, hasRunSteps: false }))).resolves.toMatchObject({ mode: "off", sandbox: undefined });
  });

  it("refuses to start as root without nftables", async () => {
    process.env.PATH = join(root.dir, "no-tools-here");
    await expect(openStepSandbox(settings("auto"), needs({ isRoot: true }))).rejects.toThrow(/nftables .*EPHEMERA_STEP_ISOLATION=off/);
  });

  it("refuses, as root, working directories the step uids could not enter", async () => {
    const closed = join(root.dir, "closed");
    mkdirSync(closed, { mode: 0o700 });
    const opening = openStepSandbox({ ...settings("auto"), workdirs: join(closed, "workdirs") }, needs({ isRoot: true }));
    await expect(opening).rejects.toThrow(`EPHEMERA_WORKDIRS (${join(closed, "workdirs")}) is under ${closed}, which the step uids cannot enter`);
    // Nothing would enter them without a run step.
    const unused = await openStepSandbox({ ...settings("auto"), workdirs: join(closed, "workdirs") }, needs({ isRoot: true, hasRunSteps: false }));
    expect(unused.mode).toBe("uid");
  });

  it("picks bubblewrap when not root, and a uid per environment as root", async () => {
    await expect(openStepSandbox(settings("auto"), needs({ isRoot: false }))).resolves.toMatchObject({ mode: "bwrap" });
    const asRoot = settings("auto");
    expect((await openStepSandbox(asRoot, needs({ isRoot: true }))).sandbox?.mode).toBe("uid");
    // The same rules give the same chain: remove what this test installed.
    execFileSync("nft", ["delete", "chain", "inet", "ephemera", await installStepFirewall({ uids: asRoot.uidRange, endpoints: [], appPort: 3000 })]);
  });

  it("warns at every start with off, and /metrics says so", async () => {
    const { mode, sandbox } = await openStepSandbox(settings("off"), needs({}));
    expect(sandbox).toBeUndefined();
    expect(warnings).toEqual([expect.stringMatching(/EPHEMERA_STEP_ISOLATION=off: run steps execute PR code as the app's own user/)]);
    const text = await createMetrics({ stepIsolation: mode }).registry.metrics();
    expect(text).toContain('ephemera_step_isolation{mode="off"} 1');
    expect(text).toContain('ephemera_step_isolation{mode="uid"} 0');
  });
});
