import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { StepLine } from "./harness.js";
import type { WorkerParams } from "./worker-process.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface WorkerProcess {
  readonly child: ChildProcess;
  /** Resolves once the worker prints "started". */
  readonly started: Promise<void>;
  /** SIGKILL, as a crash would; resolves when it is gone. */
  kill(): Promise<void>;
  /** SIGTERM, a graceful stop. */
  stop(): Promise<void>;
}

/**
 * Bundles worker-process.ts into one ES module, so each worker starts in a
 * fraction of a second instead of transpiling on every start (the crash test
 * starts dozens). esbuild is the one tsx and vitest already install. The
 * bundle lives under node_modules/.cache so its imports resolve; remove it
 * with `rmSync` when done.
 */
export async function bundleWorker(): Promise<string> {
  const { build } = await import("esbuild");
  const outfile = join(ROOT, "node_modules/.cache/ephemera-tests", `worker-${randomUUID()}.mjs`);
  await build({
    entryPoints: [join(ROOT, "test/lifecycle/worker-process.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    absWorkingDir: ROOT,
    logLevel: "silent",
  });
  return outfile;
}

/** Starts a worker from `bundleWorker`'s output. */
export function spawnWorker(bundle: string, params: WorkerParams): WorkerProcess {
  const child = spawn(process.execPath, [bundle], {
    cwd: ROOT,
    env: { ...process.env, WORKER_PARAMS: JSON.stringify(params) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const started = new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => chunk.toString().includes("started") && resolve());
    child.once("exit", (code) => reject(new Error(`worker exited before it started (code ${code})`)));
  });
  started.catch(() => undefined);
  const signal = async (name: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
    await exited;
  };
  return { child, started, kill: () => signal("SIGKILL"), stop: () => signal("SIGTERM") };
}

/**
 * A dead worker's step commands run on in their own process groups; a
 * machine crash would end them too. Kills every group that logged a start
 * and no end, unless a live worker started it (the group leader's parent).
 */
export function killOrphanSteps(lines: readonly StepLine[], live: readonly WorkerProcess[]): number {
  const livePids = new Set(live.map((worker) => worker.child.pid));
  const ended = new Set(lines.filter((line) => line.kind === "end").map((line) => line.group));
  let killed = 0;
  for (const line of lines) {
    if (line.kind !== "start" || ended.has(line.group) || livePids.has(parentPid(line.group))) continue;
    try {
      process.kill(-line.group, "SIGKILL");
      killed += 1;
    } catch {
      // Already gone.
    }
  }
  return killed;
}

/** The parent of a process (Linux), or undefined when it is gone. */
function parentPid(pid: number): number | undefined {
  try {
    // `pid (comm) state ppid …`; comm may hold spaces, so read after its closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}
