import { spawn, type ChildProcess } from "node:child_process";
import { formatDuration } from "../config/duration.js";
import { envId } from "../lifecycle/environment.js";
import {
  StepAbortedError,
  StepFailedError,
  throwIfAborted,
  type Provider,
  type StepContext,
  type StepOutcome,
  type StepSpec,
} from "../lifecycle/provider.js";
import { parseOutputFile } from "./output-file.js";
import { resolveOperatorEnv } from "./operator-env.js";
import { maskSecrets, OutputTail, secretValues } from "./output-tail.js";
import { OutputFileError, readStepOutputFile } from "./sandbox/output-file-read.js";
import { resolveScriptPath } from "./sandbox/script-path.js";
import type { StepLaunch, StepSandbox } from "./sandbox/step-sandbox.js";
import { unconfinedLaunch } from "./sandbox/unconfined-launch.js";

/**
 * `run` steps: the operator's command under `/bin/sh -c`. Nothing from a PR
 * is ever part of the command string; the PR's values reach the script only
 * as environment variables. The step runs as the leader of its own process
 * group so a timeout or an abort can stop everything it started, and when it
 * exits whatever it left running in that group is killed too: a step leaves
 * nothing behind (a daemon meant to outlive it must start its own session).
 *
 * With a sandbox (./sandbox/), the step runs confined, in its environment's
 * working directory. A setup `run` step has nothing else to destroy: the
 * template's `teardown` commands undo what it did (the reconciler runs them
 * with `create` in phase `teardown`, before any destroy), and the destroy of
 * a `run` step releases the environment's sandbox: its processes, its
 * working directory, its uid.
 */

/**
 * The only variables a step inherits from the app. An allow-list, not a
 * deny-list, so none of the app's secrets (PRIVATE_KEY, WEBHOOK_SECRET,
 * EPHEMERA_ADMIN_TOKEN, EPHEMERA_POSTGRES_URL, REDIS_URL, …) can reach it.
 */
const INHERITED_VARIABLES = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "SHELL"] as const;
/** A step with no `timeout` must still end, or it would hold its environment forever. */
const DEFAULT_TIMEOUT_MS = 10 * 60_000;

export interface RunProviderOptions {
  /** The operator config file's directory: relative script paths resolve against it, and unconfined steps run there. */
  readonly cwd: string;
  /** Confines every step; without one, steps run as the app (`EPHEMERA_STEP_ISOLATION=off`). */
  readonly sandbox?: StepSandbox | undefined;
  /** Where the allow-listed variables and `${VAR}` references are read from; default `process.env`. */
  readonly parentEnv?: NodeJS.ProcessEnv;
  /** How much of the end of a step's output is kept for the PR; default 8 KiB. */
  readonly outputTailBytes?: number;
  /** Time a stopped step gets between SIGTERM and SIGKILL; default 5 s. */
  readonly killGraceMs?: number;
}

type ProcessEnd =
  | { kind: "exited"; code: number | null; signal: NodeJS.Signals | null }
  | { kind: "timeout" }
  | { kind: "aborted" };

export class RunProvider implements Provider {
  readonly name = "run";

  constructor(private readonly options: RunProviderOptions) {}

  async create(step: StepSpec, ctx: StepContext): Promise<StepOutcome> {
    if (step.run === undefined) throw new StepFailedError({ step: step.name, reason: "has no `run` command", terminal: true });
    const timeoutMs = step.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    throwIfAborted(step, ctx.signal);
    const parentEnv = this.options.parentEnv ?? process.env;
    const operatorEnv = resolveOperatorEnv(step, parentEnv);
    // Masked once, here, so the error, the PR, the log and the store only ever see `***`.
    const secrets = secretValues(ctx.secrets, operatorEnv.masked);
    const { sandbox, cwd } = this.options;
    const launch = sandbox ? await sandbox.prepare({ repoId: ctx.repoId, pr: ctx.pr }) : await unconfinedLaunch(cwd);
    try {
      const tail = new OutputTail(this.options.outputTailBytes ?? 8192, secrets);
      ctx.log.info({ step: step.name, phase: ctx.phase }, "running step command");
      const end = await runInOwnGroup({
        step,
        command: resolveScriptPath(step.run, cwd),
        launch,
        env: stepEnvironment(operatorEnv.variables, ctx, parentEnv, launch.variables),
        timeoutMs,
        graceMs: this.options.killGraceMs ?? 5000,
        signal: ctx.signal,
        onOutput: (chunk) => tail.push(chunk),
      });
      const failure = (reason: string, exitCode?: number) =>
        new StepFailedError({ step: step.name, reason, terminal: false, outputTail: tail.text(), exitCode });
      if (end.kind === "aborted") throw new StepAbortedError(step.name);
      if (end.kind === "timeout") throw failure(`timed out after ${formatDuration(timeoutMs)}`);
      if (end.signal !== null) throw failure(`was killed by ${end.signal}`);
      if (end.code !== 0) throw failure(`exited with code ${end.code}`, end.code ?? undefined);
      return { outputs: await readOutputs(step, launch, secrets), secrets: {} };
    } finally {
      await launch.finish();
    }
  }

  /** Releases the environment's sandbox; the template's `teardown` commands undo the rest. */
  async destroy(_step: StepSpec, ctx: StepContext): Promise<void> {
    await this.options.sandbox?.release({ repoId: ctx.repoId, pr: ctx.pr });
  }
}

/** `EPHEMERA_OUT_<STEP>_<NAME>`: upper-cased, every other character `_`. */
function outputVariable(step: string, output: string): string {
  return `EPHEMERA_OUT_${step}_${output}`.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
}

function stepEnvironment(operatorVariables: Record<string, string>, ctx: StepContext, parentEnv: NodeJS.ProcessEnv, launchVariables: Readonly<Record<string, string>>) {
  const env: Record<string, string> = {};
  for (const name of INHERITED_VARIABLES) {
    const value = parentEnv[name];
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, operatorVariables);
  for (const byStep of [ctx.outputs, ctx.secrets]) {
    for (const [stepName, values] of Object.entries(byStep)) {
      for (const [name, value] of Object.entries(values)) env[outputVariable(stepName, name)] = value;
    }
  }
  // Last, so neither the operator's `env` nor an output name can shadow them.
  return Object.assign(env, {
    EPHEMERA_ENV_ID: envId(ctx.pr),
    EPHEMERA_REPO: ctx.repo,
    EPHEMERA_REPO_ID: String(ctx.repoId),
    EPHEMERA_PR: String(ctx.pr),
    EPHEMERA_SHA: ctx.sha,
    EPHEMERA_REF: ctx.ref,
    EPHEMERA_EXPIRES_AT: ctx.expiresAt,
    EPHEMERA_PHASE: ctx.phase,
    ...launchVariables,
  });
}

function runInOwnGroup(params: {
  step: StepSpec;
  command: string;
  launch: StepLaunch;
  env: Record<string, string>;
  timeoutMs: number;
  graceMs: number;
  signal: AbortSignal;
  onOutput: (chunk: Buffer) => void;
}): Promise<ProcessEnd> {
  return new Promise((resolve, reject) => {
    const watchdog = startWatchdog(params.launch.watchdog);
    const [file = "/bin/sh", ...args] = [...params.launch.wrapper, "/bin/sh", "-c", params.command];
    const child = spawn(file, args, {
      cwd: params.launch.cwd,
      env: params.env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    // A negative pid signals the whole group the shell leads.
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // ESRCH: nothing is left in the group.
      }
    };
    let stoppedBy: "timeout" | "aborted" | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    const stop = (reason: "timeout" | "aborted") => {
      if (stoppedBy) return;
      stoppedBy = reason;
      signalGroup("SIGTERM");
      killTimer = setTimeout(() => signalGroup("SIGKILL"), params.graceMs);
    };
    const timeout = setTimeout(() => stop("timeout"), params.timeoutMs);
    const onAbort = () => stop("aborted");
    params.signal.addEventListener("abort", onAbort, { once: true });
    const settle = () => {
      watchdog?.stdin?.end("done\n");
      clearTimeout(timeout);
      clearTimeout(killTimer);
      clearTimeout(drainTimer);
      params.signal.removeEventListener("abort", onAbort);
    };

    child.stdout.on("data", params.onOutput);
    child.stderr.on("data", params.onOutput);
    child.once("exit", () => {
      clearTimeout(timeout);
      clearTimeout(killTimer);
      signalGroup("SIGKILL");
      // A process that left the group but kept our pipes open must not hold the step forever.
      drainTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, params.graceMs);
    });
    child.once("close", (code, signal) => {
      settle();
      resolve(stoppedBy ? { kind: stoppedBy } : { kind: "exited", code, signal });
    });
    child.once("error", (error) => {
      settle();
      signalGroup("SIGKILL");
      reject(new StepFailedError({ step: params.step.name, reason: `could not be started: ${error.message}`, terminal: false, cause: error }));
    });
  });
}

/** Where the watchdog finds sh, kill, setpriv. */
const WATCHDOG_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * The watchdog of a sandbox that needs one, in a process group of its own so
 * that a signal to the app's group does not reach it. Its stdin is a pipe
 * whose other end only the app holds (Node opens it close-on-exec).
 */
function startWatchdog(argv: readonly string[] | undefined): ChildProcess | undefined {
  if (argv === undefined || argv.length === 0) return undefined;
  const [file = "/bin/sh", ...args] = argv;
  // No environment of the app's: without cgroups the watchdog ends as a shell of the step uid, readable by its processes.
  const watchdog = spawn(file, args, { detached: true, stdio: ["pipe", "ignore", "ignore"], env: { PATH: WATCHDOG_PATH } });
  // EPIPE when it is gone already: then there is nothing left to tell it.
  watchdog.stdin?.on("error", () => undefined);
  watchdog.on("error", () => undefined);
  watchdog.unref();
  return watchdog;
}

/** Outputs end up on the PR and in the store: a secret a script wrote into one is masked there too. */
async function readOutputs(step: StepSpec, launch: StepLaunch, secrets: readonly string[]): Promise<Record<string, string>> {
  const outputFile = launch.variables.EPHEMERA_OUTPUT ?? "";
  // The script succeeded and will write the same thing again: retrying cannot help.
  const unusable = (reason: string, cause?: unknown) => new StepFailedError({ step: step.name, reason, terminal: true, cause });
  let text: string;
  try {
    text = await readStepOutputFile(outputFile, launch.stepUid);
  } catch (error) {
    if (error instanceof OutputFileError) throw unusable(`wrote a $EPHEMERA_OUTPUT that ${error.message}`, error);
    throw error;
  }
  try {
    return Object.fromEntries(Object.entries(parseOutputFile(text)).map(([name, value]) => [name, maskSecrets(value, secrets)]));
  } catch (error) {
    throw unusable(`wrote an unreadable $EPHEMERA_OUTPUT: ${(error as Error).message}`, error);
  }
}
