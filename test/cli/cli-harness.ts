import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Logger } from "pino";
import { runCli } from "../../src/cli/run-cli.js";
import type { TtySink } from "../../src/cli/progress.js";
import type { Provider, StepContext } from "../../src/lifecycle/provider.js";
import { openRuntime, type Runtime, type RuntimeEnv, type RuntimeOptions } from "../../src/runtime.js";
import { TSX_LOADER } from "../helpers/app-process.js";

/**
 * Running the CLI in tests: as a child process (`node --import tsx
 * src/cli/main.ts`, what `npx ephemera` runs in a checkout), or in-process
 * through `runCli` where a test needs to swap a provider. Every run, either
 * way, is checked for the secrets the test worlds hold: none may ever appear
 * in stdout or stderr.
 */

const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const tag = () => randomBytes(6).toString("hex");

/** Secrets planted in the test worlds; `expectNoSecrets` looks for each of them in every output. */
export const SECRETS = {
  /** A database password a "postgres" step returns as a secret output: the store holds it sealed. */
  dbPassword: `dbpw-${tag()}`,
  /** The password in the URL a deploy step writes as a plain output (an operator's mistake). */
  deployCredential: `deploycred-${tag()}`,
  /** A plain output named `api_token`. */
  apiToken: `apitoken-${tag()}`,
};

/** Throws when any output holds a planted secret, or a sealed value. */
export function expectNoSecrets(result: CliResult, what: string): CliResult {
  const output = result.stdout + result.stderr;
  for (const [name, secret] of Object.entries(SECRETS)) {
    if (output.includes(secret)) throw new Error(`\`${what}\` printed the ${name} secret:\n${output}`);
  }
  if (output.includes("sealed:v1:")) throw new Error(`\`${what}\` printed a sealed value:\n${output}`);
  return result;
}

/** The CLI as a child process, in `cwd`, with only `env` (plus PATH and HOME). */
export async function runCliProcess(args: string[], env: Record<string, string>, cwd: string): Promise<CliResult> {
  const child = spawn(process.execPath, ["--import", TSX_LOADER, MAIN, ...args], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_FORMAT: "json", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const code = await new Promise<number | null>((done) => child.on("exit", done));
  return expectNoSecrets({ code, stdout, stderr }, `ephemera ${args.join(" ")}`);
}

export function collectingSink(isTTY = false): TtySink & { text: string } {
  const sink = {
    text: "",
    isTTY,
    write(chunk: string) {
      sink.text += chunk;
      return true;
    },
  };
  return sink;
}

/** The CLI in this process; `providers` replace the runtime's providers of the same name. */
export async function runCliHere(args: string[], env: Record<string, string>, options: { providers?: Provider[]; owners?: Runtime["owners"]; stderrIsTTY?: boolean; now?: () => number } = {}): Promise<CliResult> {
  const stdout = collectingSink();
  const stderr = collectingSink(options.stderrIsTTY);
  const open = async (runtimeEnv: RuntimeEnv, log: Logger, runtimeOptions: RuntimeOptions): Promise<Runtime> => {
    const runtime = await openRuntime(runtimeEnv, log, runtimeOptions);
    const swapped = options.providers ?? [];
    return {
      ...runtime,
      providers: [...runtime.providers.filter((provider) => !swapped.some((swap) => swap.name === provider.name)), ...swapped],
      owners: options.owners ?? runtime.owners,
    };
  };
  const code = await runCli(args, { env: { LOG_FORMAT: "json", ...env }, stdout, stderr, openRuntime: open, ...(options.now && { now: options.now }) });
  return expectNoSecrets({ code, stdout: stdout.text, stderr: stderr.text }, `ephemera ${args.join(" ")} (in-process)`);
}

/**
 * A stand-in for the postgres provider: its setup returns a connection URL
 * with a password as a secret output, as the real one does, and it records
 * what each destroy was given (the secret must reach it unsealed).
 */
export class FakePostgres implements Provider {
  readonly name = "postgres";
  readonly destroyed: Array<{ env: string; secretUrl: string | undefined }> = [];

  async create(_step: unknown, ctx: StepContext) {
    const database = `app_${ctx.repoId}_pr${ctx.pr}`;
    return { outputs: { database }, secrets: { url: `postgres://${database}:${SECRETS.dbPassword}@db.internal:5432/${database}` } };
  }

  async destroy(step: { name: string }, ctx: StepContext) {
    this.destroyed.push({ env: `${ctx.repoId}#${ctx.pr}`, secretUrl: ctx.secrets[step.name]?.url });
  }
}

/** A temp directory, removed by `dispose`. */
export function tempDir(prefix: string): { path: string; dispose(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, dispose: () => rmSync(path, { recursive: true, force: true }) };
}

/** Writes the operator config as the CLI reads it (JSON is YAML); returns its path. */
export function writeOperatorConfig(dir: string, config: object): string {
  const path = join(dir, "ephemera.config.yml");
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}
