import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { auditOrphans } from "../../../src/providers/audit.js";
import { RunProvider } from "../../../src/providers/run-provider.js";
import { resolveScriptPath } from "../../../src/providers/sandbox/script-path.js";
import { UidLeases } from "../../../src/providers/sandbox/uid-leases.js";
import { UidSandbox } from "../../../src/providers/sandbox/uid-sandbox.js";
import { DAEMON_STEP, isRunning, runStep, sandboxRoot, stepContext, testUidRange } from "./sandbox-fixtures.js";

let root: ReturnType<typeof sandboxRoot>;

beforeEach(() => {
  root = sandboxRoot();
});

afterEach(() => root.dispose());

describe("stale working directories", () => {
  it("are removed by the orphan audit with what their environment left running; live ones stay", async () => {
    const workdirs = join(root.dir, "workdirs");
    const configDir = join(root.dir, "config");
    mkdirSync(configDir, { mode: 0o755 });
    const sandbox = new UidSandbox({ workdirs, leases: new UidLeases(join(root.dir, "leases"), testUidRange(), workdirs), limits: { maxProcesses: 64, memoryBytes: 1024 ** 3 }, cgroups: true });
    const run = new RunProvider({ cwd: configDir, sandbox });
    const stale = await run.create(runStep(DAEMON_STEP), stepContext({ repoId: 9, pr: 1 }));
    const live = await run.create(runStep(DAEMON_STEP), stepContext({ repoId: 9, pr: 2 }));

    const report = await auditOrphans({ owners: [sandbox.owner], isClaimed: async (env) => env.pr === 2, dryRun: false, log: { info: () => undefined, warn: () => undefined } });

    expect(report.errors).toEqual([]);
    expect(report.removed).toEqual([{ provider: "run", kind: "workdir", name: "env-9-1", env: { repoId: 9, pr: 1 } }]);
    expect(existsSync(join(workdirs, "env-9-1"))).toBe(false);
    expect(isRunning(Number(stale.outputs.pid))).toBe(false);
    expect(existsSync(join(workdirs, "env-9-2"))).toBe(true);
    expect(isRunning(Number(live.outputs.pid))).toBe(true);
    await sandbox.release({ repoId: 9, pr: 2 });
    expect(isRunning(Number(live.outputs.pid))).toBe(false);
  });
});

describe("resolveScriptPath", () => {
  it("makes a leading relative path absolute against the config directory, quoted, and leaves the rest alone", () => {
    expect(resolveScriptPath("./deploy.sh --fast", "/etc/ephemera")).toBe("'/etc/ephemera/deploy.sh' --fast");
    expect(resolveScriptPath("../bin/x.sh;echo", "/srv/app/config")).toBe("'/srv/app/bin/x.sh';echo");
    expect(resolveScriptPath("./dir with space/x.sh", "/cfg")).toBe("'/cfg/dir' with space/x.sh");
    // A first word the pattern cannot take whole (shell quoting inside it) is left as the operator wrote it.
    expect(resolveScriptPath(`./it's.sh`, "/cfg")).toBe(`./it's.sh`);
    expect(resolveScriptPath("echo ./not-first", "/cfg")).toBe("echo ./not-first");
    expect(resolveScriptPath("/abs/script.sh", "/cfg")).toBe("/abs/script.sh");
  });
});
