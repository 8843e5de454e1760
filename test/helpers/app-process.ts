import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { freePort } from "./redis-server.js";
import { waitFor } from "./wait-for.js";

const MAIN = resolve(import.meta.dirname, "../../src/main.ts");
/** tsx resolved from this checkout, so the app can run from any working directory. */
export const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/**
 * The real server process, started the way `npm start` starts it (the same
 * src/main.ts, through tsx instead of a build), in a directory of its own.
 */
export interface AppProcess {
  readonly port: number;
  readonly cwd: string;
  readonly child: ChildProcess;
  output(): string;
  url(path: string): string;
  /** SIGTERM, wait for exit; the directory is kept for a restart. */
  stop(): Promise<number | null>;
  /** SIGKILL (a crash: no drain, no clean-up), wait for exit; the directory is kept for a restart. */
  kill(): Promise<void>;
  /** Removes the directory. */
  dispose(): Promise<void>;
}

export interface SpawnOptions {
  env: Record<string, string>;
  cwd?: string;
  /** Wait until GET /healthz answers (default true). */
  waitForHealth?: boolean;
  /** How long to wait for it (default 60 s; a loaded machine may need more). */
  healthTimeoutMs?: number;
  /** Start the app as this user (through `setpriv`, no supplementary groups) instead of the test's own. */
  runAs?: { uid: number; gid: number };
}

/** Runs src/main.ts to completion (for start-up failures): exit code and output. `prepare` lays out its directory first. */
export async function runMainToExit(
  env: Record<string, string>,
  prepare: (cwd: string) => void = () => {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cwd = mkdtempSync(join(tmpdir(), "ephemera-app-"));
  try {
    prepare(cwd);
    const child = spawn(process.execPath, ["--import", TSX_LOADER, MAIN], { cwd, env: baseEnv(env), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const code = await new Promise<number | null>((done) => child.on("exit", done));
    return { code, stdout, stderr };
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

/**
 * mkdtemp makes 0700 directories. As root the app refuses to start when the
 * step uids cannot reach its working directories (./workdirs) or read the
 * config's directory, as it would for an operator's: open the directories
 * from the temp root down to `cwd` for traversal (o+x), not listing.
 */
export function letStepUidsIn(cwd: string): void {
  const root = tmpdir();
  for (let dir = resolve(cwd); dir.startsWith(`${root}/`); dir = dirname(dir)) chmodSync(dir, statSync(dir).mode | 0o711);
}

function baseEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, LOG_FORMAT: "json", LOG_LEVEL: "info", ...env };
}

export async function spawnApp({ env, cwd = mkdtempSync(join(tmpdir(), "ephemera-app-")), waitForHealth = true, healthTimeoutMs = 60_000, runAs }: SpawnOptions): Promise<AppProcess> {
  const port = Number(env.PORT ?? (await freePort()));
  letStepUidsIn(cwd);
  const node = [process.execPath, "--import", TSX_LOADER, MAIN];
  // setpriv (util-linux) execs node in place, so the child's pid is the app's; by its full path, as a test may hand the app a PATH of its own.
  const argv = runAs === undefined ? node : ["/usr/bin/setpriv", `--reuid=${runAs.uid}`, `--regid=${runAs.gid}`, "--clear-groups", ...node];
  const child = spawn(argv[0] ?? "", argv.slice(1), {
    cwd,
    env: baseEnv({ HOST: "127.0.0.1", ...env, PORT: String(port) }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const url = (path: string) => `http://127.0.0.1:${port}${path}`;
  const app: AppProcess = {
    port,
    cwd,
    child,
    output: () => output,
    url,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((done) => child.once("exit", done));
      child.kill("SIGTERM");
      return exited;
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((done) => child.once("exit", () => done()));
      child.kill("SIGKILL");
      await exited;
    },
    async dispose() {
      await app.stop();
      rmSync(cwd, { recursive: true, force: true });
    },
  };
  if (waitForHealth) {
    try {
      await waitUntilHealthy(app, healthTimeoutMs);
    } catch (error) {
      // Not left running behind a failed start.
      child.kill("SIGKILL");
      throw error;
    }
  }
  return app;
}

async function waitUntilHealthy(app: AppProcess, timeoutMs: number): Promise<void> {
  await waitFor(
    async () => {
      if (app.child.exitCode !== null) throw new Error(`app exited with ${app.child.exitCode}:\n${app.output()}`);
      // A refused connection: not listening yet.
      return (await fetch(app.url("/healthz")).catch(() => undefined))?.ok;
    },
    () => `app did not become healthy:\n${app.output()}`,
    timeoutMs,
  );
}
