import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StepContext, StepSpec } from "../../../src/lifecycle/provider.js";
import type { UidRange } from "../../../src/providers/sandbox/uid-leases.js";

/** A directory every uid may traverse (0711), as a real config directory's parents are; removed by `dispose`. */
export function sandboxRoot(): { dir: string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), "ephemera-sandbox-"));
  chmodSync(dir, 0o755);
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A range of its own per test file, so parallel runs never share a uid through different lease directories. */
export function testUidRange(): UidRange {
  const first = 2_100_000_000 + Math.floor(Math.random() * 400_000) * 100;
  return { first, last: first + 99 };
}

export function stepContext(env: { repoId: number; pr: number }, overrides: Partial<StepContext> = {}): StepContext {
  return {
    repo: "octo/app",
    repoId: env.repoId,
    pr: env.pr,
    sha: "c0ffee".padEnd(40, "0"),
    ref: "feature/login",
    expiresAt: "2030-01-01T00:00:00.000Z",
    phase: "setup",
    outputs: {},
    secrets: {},
    signal: new AbortController().signal,
    log: { info: () => undefined, warn: () => undefined },
    ...overrides,
  };
}

export const runStep = (command: string, extra: Partial<StepSpec> = {}): StepSpec => ({ name: "deploy", run: command, ...extra });

/** Whether `pid` runs (a zombie does not: this machine's init does not reap orphans). */
export function isRunning(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

/** Live pids whose real uid is `uid`. */
export function pidsOfUid(uid: number): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const status = readFileSync(`/proc/${entry}/status`, "utf8");
        return !/^State:\s+Z/m.test(status) && new RegExp(`^Uid:\\s+${uid}\\s`, "m").test(status);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/**
 * A step that leaves a daemon in a session of its own and reports the
 * daemon's pid as output `pid` (the pid it wrote itself: `setsid` may fork,
 * so `$!` can be a parent that already exited).
 */
export const DAEMON_STEP = `setsid sh -c 'echo $$ > daemon.pid; exec sleep 1000' > /dev/null 2>&1 < /dev/null &
while [ ! -s daemon.pid ]; do sleep 0.05; done; echo "pid=$(cat daemon.pid)" >> "$EPHEMERA_OUTPUT"; rm daemon.pid`;
