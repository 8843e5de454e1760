import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatDuration } from "../config/duration.js";
import { envId } from "../lifecycle/environment.js";
import {
  StepAbortedError,
  StepFailedError,
  throwIfAborted,
  type OutputsByStep,
  type Provider,
  type StepContext,
  type StepOutcome,
  type StepSpec,
} from "./provider.js";
import { parseOutputFile } from "./output-file.js";
import { resolveOperatorEnv } from "./operator-env.js";
import { maskSecrets, OutputTail, secretValues } from "./output-tail.js";

/**
 * `run` steps: the operator's command under `/bin/sh -c`. Nothing from a PR
 * is ever part of the command string; the PR's values reach the script only
 * as environment variables. The step runs as the leader of its own process
 * group so a timeout or an abort can stop everything it started, and when it
 * exits whatever it left running in that group is killed too: a step leaves
 * nothing behind (a daemon meant to outlive it must start its own session).
 *
 * A setup `run` step has nothing to destroy; the template's `teardown`
 * commands undo what it did, and the reconciler runs them with `create` in
 * phase `teardown`.
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
  /** The operator config file's directory: commands run there. */
  readonly cwd: string;
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
    const parentEnv = this.options.parentEnv ?? process.env;
    const operatorEnv = resolveOperatorEnv(step, parentEnv);
    // Masked once, here, so the error, the PR, the log and the store only ever see `***`.
    const secrets = secretValues(ctx.secrets, operatorEnv.masked);
    const dir = await mkdtemp(join(tmpdir(), "ephemera-step-"));
    const outputFile = join(dir, "output");
    try {
      await writeFile(outputFile, "", { mode: 0o600 });
      const tail = new OutputTail(this.options.outputTailBytes ?? 8192, secrets);
      throwIfAborted(step, ctx.signal);
      ctx.log.info({ step: step.name, phase: ctx.phase }, "running step command");
      const end = await runInOwnGroup({
        step,
        command: step.run,
        cwd: this.options.cwd,
        env: stepEnvironment(operatorEnv.variables, ctx, parentEnv, outputFile),
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
      return { outputs: readOutputs(step, await readFile(outputFile, "utf8"), secrets), secrets: {} };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Nothing to undo: the template's `teardown` commands do that. */
  async destroy(): Promise<void> {}
}

/** `EPHEMERA_OUT_<STEP>_<NAME>`: upper-cased, every other character `_`. */
function outputVariable(step: string, output: string): string {
  return `EPHEMERA_OUT_${step}_${output}`.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
}

function stepEnvironment(operatorVariables: Record<string, string>, ctx: StepContext, parentEnv: NodeJS.ProcessEnv, outputFile: string) {
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
    EPHEMERA_OUTPUT: outputFile,
  });
}

function runInOwnGroup(params: {
  step: StepSpec;
  command: string;
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  graceMs: number;
  signal: AbortSignal;
  onOutput: (chunk: Buffer) => void;
}): Promise<ProcessEnd> {
  return new Promise((resolve, reject) => {
    const child = spawn("/bin/sh", ["-c", params.command], {
      cwd: params.cwd,
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

/** Outputs end up on the PR and in the store: a secret a script wrote into one is masked there too. */
function readOutputs(step: StepSpec, text: string, secrets: readonly string[]): Record<string, string> {
  try {
    return Object.fromEntries(Object.entries(parseOutputFile(text)).map(([name, value]) => [name, maskSecrets(value, secrets)]));
  } catch (error) {
    // The script succeeded and will write the same thing again: retrying cannot help.
    throw new StepFailedError({
      step: step.name,
      reason: `wrote an unreadable $EPHEMERA_OUTPUT: ${(error as Error).message}`,
      terminal: true,
    });
  }
}
