import type { ParseArgsConfig } from "node:util";
import type { CliContext } from "./context.js";

/** 0: done; 1: it failed (or is not finished), see stderr; 2: the command line is wrong. */
export type ExitCode = 0 | 1 | 2;

/** The command line is wrong: exit 2, pointing at `--help`. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** An expected failure (nothing matches, a refusal): one line on stderr, exit 1. */
export class CliFailure extends Error {
  override readonly name = "CliFailure";
}

export type OptionSpecs = NonNullable<ParseArgsConfig["options"]>;

/** What `node:util` `parseArgs` read: `--repo x` as `{ repo: "x" }`, `--json` as `{ json: true }`. */
export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export interface Command {
  readonly name: string;
  /** One line for `ephemera --help`. */
  readonly summary: string;
  /** The full `--help` text: usage line first, then what it does and its options. */
  readonly help: string;
  /** Its options, as `parseArgs` takes them; `--help` is added to every command. */
  readonly options: OptionSpecs;
  /** Whether it may run `run` steps (teardown commands, a setup the reconciler resumes) or remove their working directories: only then is the step sandbox opened. */
  readonly runsSteps?: true;
  /**
   * Whether it writes environments in this release's layout without running
   * the reconciler (`import`, `resync`): it joins the store's replica
   * registry too, and is refused beside replicas of another release. Those
   * that run steps join anyway.
   */
  readonly writesStore?: true;
  run(args: ParsedArgs, cli: CliContext): Promise<ExitCode>;
}

/** The positionals a command takes, by name; anything else is a usage error. */
export function positionals<const N extends readonly string[]>(args: ParsedArgs, names: N): { [K in keyof N]: string } {
  if (args.positionals.length !== names.length) {
    const wanted = names.length === 0 ? "no arguments" : names.map((name) => `<${name}>`).join(" ");
    throw new UsageError(`expected ${wanted}, got ${args.positionals.length === 0 ? "none" : args.positionals.map((p) => JSON.stringify(p)).join(" ")}`);
  }
  return args.positionals as unknown as { [K in keyof N]: string };
}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === "string" ? value : undefined;
}
