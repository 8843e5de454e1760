import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { letStepUidsIn, TSX_LOADER } from "../../test/helpers/app-process.js";
import { freePort } from "../../test/helpers/redis-server.js";
import { waitFor } from "../../test/helpers/wait-for.js";

const MAIN = resolve(import.meta.dirname, "../../src/main.ts");
const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/**
 * A server process of the bench's: the real Ephemera (src/main.ts, as
 * test/helpers/app-process.ts starts it) or the floor server. Unlike the
 * test helper, its output goes to a file, not into a string in this process:
 * at info level the server logs every request, and under load that is
 * megabytes a second the load generator must not spend its core on.
 */
export interface BenchProcess {
  readonly name: string;
  readonly port: number;
  readonly pid: number;
  url(path: string): string;
  /** CPU time (user + system) the process has used so far, in ms, from /proc. */
  cpuMs(): number;
  /** The last lines of its output, for error messages. */
  tail(lines?: number): string;
  /** SIGTERM (Ephemera drains and exits; a CPU profile is written then), waits at most 15 s, then SIGKILL. */
  stop(): Promise<void>;
}

export interface StartOptions {
  name: string;
  env: Record<string, string>;
  /** Where the process runs (the operator config is found there) and its log goes. */
  dir: string;
  /**
   * Write V8 CPU profiles under `<profileDir>/<name>/` when the process
   * exits (`node --cpu-prof`): one per thread (tsx's module loader runs in a
   * thread of its own), so see `mainThreadProfile`.
   */
  profileDir?: string;
  /** The script to run: src/main.ts unless given. */
  script?: string;
}

export async function startProcess({ name, env, dir, profileDir, script = MAIN }: StartOptions): Promise<BenchProcess> {
  const port = Number(env.PORT ?? (await freePort()));
  const logFile = join(dir, `${name}.log`);
  const log = openSync(logFile, "a");
  const profile = profileDir ? ["--cpu-prof", "--cpu-prof-dir", join(profileDir, name)] : [];
  if (profileDir) {
    rmSync(join(profileDir, name), { recursive: true, force: true });
    mkdirSync(join(profileDir, name), { recursive: true });
  }
  // As root the app runs steps as uids of their own, which must reach its working directories, as an operator's would.
  letStepUidsIn(dir);
  const child: ChildProcess = spawn(process.execPath, [...profile, "--import", TSX_LOADER, script], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_FORMAT: "json", LOG_LEVEL: "info", HOST: "127.0.0.1", ...env, PORT: String(port) },
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const tail = (lines = 30) => {
    try {
      return readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "";
    }
  };
  const proc: BenchProcess = {
    name,
    port,
    pid: child.pid ?? -1,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    cpuMs: () => cpuMsOf(child.pid ?? -1),
    tail,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
  await waitUntilHealthy(proc, child);
  return proc;
}

async function waitUntilHealthy(proc: BenchProcess, child: ChildProcess): Promise<void> {
  const healthy = async () => {
    if (child.exitCode !== null) throw new Error(`${proc.name} exited with ${child.exitCode}:\n${proc.tail()}`);
    // A refused connection: not listening yet.
    return (await fetch(proc.url("/healthz")).catch(() => undefined))?.ok;
  };
  await waitFor(healthy, () => `${proc.name} did not answer /healthz:\n${proc.tail()}`, 30_000).catch(async (error: unknown) => {
    await proc.stop();
    throw error;
  });
}

/** utime + stime of a process, fields 14 and 15 of /proc/<pid>/stat (after the parenthesised name). */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

/** The profile of a process's main thread: the largest of those `--cpu-prof` wrote for it (the loader thread's is small). */
export function mainThreadProfile(profileDir: string, name: string): string | undefined {
  const dir = join(profileDir, name);
  let files: string[];
  try {
    files = readdirSync(dir).filter((file) => file.endsWith(".cpuprofile"));
  } catch {
    return undefined;
  }
  return files.map((file) => join(dir, file)).sort((a, b) => statSync(b).size - statSync(a).size)[0];
}
