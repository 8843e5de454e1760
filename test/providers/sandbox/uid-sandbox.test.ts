import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RunProvider } from "../../../src/providers/run-provider.js";
import { UidLeases, type UidRange } from "../../../src/providers/sandbox/uid-leases.js";
import { UidSandbox } from "../../../src/providers/sandbox/uid-sandbox.js";
import { DAEMON_STEP, isRunning, pidsOfUid, runStep, sandboxRoot, stepContext, testUidRange } from "./sandbox-fixtures.js";

/** As root (CI's case): each environment's steps run as a uid of their own. */

const A = { repoId: 4242, pr: 1 };
const B = { repoId: 4242, pr: 2 };

let root: ReturnType<typeof sandboxRoot>;
let range: UidRange;
let configDir: string;
let workdirs: string;

function provider(limits = { maxProcesses: 512, memoryBytes: 2 * 1024 ** 3 }, cgroups = true) {
  const sandbox = new UidSandbox({ workdirs, leases: new UidLeases(join(root.dir, "leases"), range, workdirs), limits, cgroups });
  return { sandbox, run: new RunProvider({ cwd: configDir, sandbox, killGraceMs: 500 }) };
}

beforeEach(() => {
  root = sandboxRoot();
  range = testUidRange();
  configDir = join(root.dir, "config");
  workdirs = join(root.dir, "workdirs");
  mkdirSync(configDir, { mode: 0o755 });
  writeFileSync(join(configDir, "whoami.sh"), 'echo "uid=$(id -u)"; echo "gid=$(id -g)"; echo "groups=$(id -G)"; echo "cwd=$(pwd)"; echo "home=$HOME"; echo "tmp=$TMPDIR"\n', { mode: 0o755 });
});

afterEach(async () => {
  const { sandbox } = provider();
  await sandbox.release(A);
  await sandbox.release(B);
  root.dispose();
});

describe("UidSandbox", () => {
  it("hands a step nothing through a path it controls: links planted in its working directory point no chown or write of the app's", async () => {
    const { run } = provider();
    const target = join(root.dir, "roots-own");
    mkdirSync(target, { mode: 0o700 });
    // Where earlier versions made TMPDIR and the output file, as root, then chowned them to the step uid.
    await run.create(runStep(`ln -s ${target} "$EPHEMERA_WORKDIR/.tmp" && ln -s ${target} "$EPHEMERA_WORKDIR/output"`), stepContext(A));
    const { outputs } = await run.create(runStep(`echo "tmp=$TMPDIR" >> "$EPHEMERA_OUTPUT"`), stepContext(A));
    expect(statSync(target).uid).toBe(0);
    expect(statSync(target).mode & 0o777).toBe(0o700);
    expect(outputs.tmp?.startsWith(`${workdirs}/.step-`)).toBe(true);
  });

  it("runs a step as a uid of its environment's own, without groups, in its own 0700 working directory", async () => {
    const { run } = provider();
    const { outputs } = await run.create(runStep(`./whoami.sh >> "$EPHEMERA_OUTPUT"`), stepContext(A));
    const uid = Number(outputs.uid);
    expect(uid).toBeGreaterThanOrEqual(range.first);
    expect(uid).toBeLessThanOrEqual(range.last);
    expect(outputs).toMatchObject({ gid: String(uid), groups: String(uid), cwd: join(workdirs, "env-4242-1"), home: join(workdirs, "env-4242-1"), tmp: expect.stringMatching(new RegExp(`^${workdirs}/\\.step-[0-9a-f]{16}$`)) });
    const stat = statSync(join(workdirs, "env-4242-1"));
    expect({ uid: stat.uid, mode: stat.mode & 0o777 }).toEqual({ uid, mode: 0o700 });
    expect(statSync(workdirs).mode & 0o777).toBe(0o711);
  });

  it("keeps the app's 0600 files, the config directory and the list of working directories out of reach", async () => {
    const secret = join(root.dir, "key.pem");
    writeFileSync(secret, "-----BEGIN PRIVATE KEY-----", { mode: 0o600 });
    const script = `
      cat ${secret} >/dev/null 2>&1 && echo "key=read" >> "$EPHEMERA_OUTPUT"
      touch ${configDir}/planted 2>/dev/null && echo "config=written" >> "$EPHEMERA_OUTPUT"
      ls ${workdirs} >/dev/null 2>&1 && echo "workdirs=listed" >> "$EPHEMERA_OUTPUT"
      cat /proc/1/environ >/dev/null 2>&1 && echo "environ=read" >> "$EPHEMERA_OUTPUT"
      echo "own=$(echo hi > mine && cat mine)" >> "$EPHEMERA_OUTPUT"`;
    const { outputs } = await provider().run.create(runStep(script), stepContext(A));
    expect(outputs).toEqual({ own: "hi" });
  });

  it("gives two environments different uids, and neither can read the other's working directory", async () => {
    const { run } = provider();
    const b = await run.create(runStep(`echo secret > note; echo "uid=$(id -u)" >> "$EPHEMERA_OUTPUT"`), stepContext(B));
    const a = await run.create(
      runStep(`echo "uid=$(id -u)" >> "$EPHEMERA_OUTPUT"; cat ${join(workdirs, "env-4242-2", "note")} 2>/dev/null && echo "stolen=yes" >> "$EPHEMERA_OUTPUT"; true`),
      stepContext(A),
    );
    expect(a.outputs.uid).not.toBe(b.outputs.uid);
    expect(a.outputs.stolen).toBeUndefined();
    // The same environment keeps its uid from step to step.
    expect((await run.create(runStep(`echo "uid=$(id -u)" >> "$EPHEMERA_OUTPUT"`), stepContext(B))).outputs.uid).toBe(b.outputs.uid);
  });

  it("lets a setsid daemon outlive its step, and kills it, its uid's last process, at teardown", async () => {
    const { run } = provider();
    const { outputs } = await run.create(runStep(`${DAEMON_STEP}; echo "uid=$(id -u)" >> "$EPHEMERA_OUTPUT"`), stepContext(A));
    const pid = Number(outputs.pid);
    expect(isRunning(pid)).toBe(true);
    await run.destroy(runStep("true"), stepContext(A));
    expect(isRunning(pid)).toBe(false);
    expect(pidsOfUid(Number(outputs.uid))).toEqual([]);
    expect(existsSync(join(workdirs, "env-4242-1"))).toBe(false);
  });

  it("kills what a uid still runs before another environment gets it", async () => {
    const leases = new UidLeases(join(root.dir, "leases"), { first: range.first, last: range.first }, workdirs);
    const sandbox = new UidSandbox({ workdirs, leases, limits: { maxProcesses: 64, memoryBytes: 256 * 1024 ** 2 }, cgroups: true });
    const run = new RunProvider({ cwd: configDir, sandbox, killGraceMs: 500 });
    const { outputs } = await run.create(runStep(DAEMON_STEP), stepContext(A));
    // A crash forgot the lease, not the process.
    await leases.free(range.first);
    await run.create(runStep("true"), stepContext(B));
    expect(isRunning(Number(outputs.pid))).toBe(false);
  });

  it("fails a fork bomb's step within seconds, and the next step runs", async () => {
    const { run } = provider({ maxProcesses: 32, memoryBytes: 512 * 1024 ** 2 });
    const started = Date.now();
    await expect(run.create(runStep("while :; do sleep 1000 & done"), stepContext(A))).rejects.toMatchObject({ message: expect.stringMatching(/exited with code|killed/) });
    expect(Date.now() - started).toBeLessThan(5000);
    await expect(run.create(runStep(`echo ok=1 >> "$EPHEMERA_OUTPUT"`), stepContext(A))).resolves.toMatchObject({ outputs: { ok: "1" } });
  });

  it("fails a memory hog's step", async () => {
    const { run } = provider({ maxProcesses: 64, memoryBytes: 64 * 1024 ** 2 });
    const hog = `${process.execPath} -e "const kept = []; for (;;) kept.push(Buffer.alloc(1 << 20, 1))"`;
    await expect(run.create(runStep(hog), stepContext(A))).rejects.toMatchObject({ message: expect.stringMatching(/exited with code|killed/) });
  });

  it("limits the processes with rlimits where there are no cgroups", async () => {
    const { run } = provider({ maxProcesses: 32, memoryBytes: 512 * 1024 ** 2 }, false);
    await expect(run.create(runStep("while :; do sleep 1000 & done"), stepContext(A))).rejects.toMatchObject({ message: expect.stringMatching(/exited with code/) });
    await provider().sandbox.release(A);
  });
});
