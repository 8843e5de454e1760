import { parseArgs } from "node:util";
import { configProblem } from "../runtime.js";
import { CliFailure, UsageError, type Command, type ExitCode, type ParsedArgs } from "./command.js";
import { audit } from "./commands/audit.js";
import { exportCommand } from "./commands/export.js";
import { extend } from "./commands/extend.js";
import { gc } from "./commands/gc.js";
import { importCommand } from "./commands/import.js";
import { inspect } from "./commands/inspect.js";
import { list } from "./commands/list.js";
import { resync } from "./commands/resync.js";
import { teardown } from "./commands/teardown.js";
import { CliContext, type CliIO } from "./context.js";
import { Output } from "./output.js";

/**
 * The CLI's dispatch: find the command, parse its arguments, run it, and turn
 * what went wrong into one line and an exit code (0 done, 1 failed, 2 bad
 * command line). Tests call it in-process; src/cli/main.ts with the process.
 */

const COMMANDS: readonly Command[] = [list, inspect, exportCommand, importCommand, extend, teardown, gc, audit, resync];

const HELP = `Usage: ephemera <command> [arguments] [--help]

Looks at and repairs the environments in Ephemera's store.

Commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(10)}${command.summary}`).join("\n")}

It reads the server's configuration: the environment, or a .env file in the
current directory (REDIS_URL, or EPHEMERA_DATA_DIR for the embedded store;
EPHEMERA_KEY_PREFIX, EPHEMERA_CONFIG, EPHEMERA_POSTGRES_URL). extend, teardown
and gc run the reconciler and need the sealing key (EPHEMERA_SECRET_KEY, or
WEBHOOK_SECRET); resync needs APP_ID and PRIVATE_KEY, which also let extend,
teardown and gc update the PRs. Nothing it prints holds a secret.

Exit codes: 0 done, 1 failed or not finished (see stderr), 2 bad command line.
Run 'ephemera <command> --help' for a command's details.`;

export async function runCli(argv: readonly string[], io: CliIO): Promise<ExitCode> {
  const out = new Output(io.stdout, io.stderr);
  const [name, ...rest] = argv;
  if (name === undefined) {
    out.note(HELP);
    return 2;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    const about = COMMANDS.find((command) => command.name === rest[0]);
    out.print(about?.help ?? HELP);
    return 0;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (command === undefined) {
    out.note(`ephemera: unknown command "${name}"\nRun 'ephemera --help' for the commands.`);
    return 2;
  }

  let cli: CliContext | undefined;
  try {
    const args = parse(command, rest);
    if (args.values.help === true) {
      out.print(command.help);
      return 0;
    }
    cli = await CliContext.create(io, out, { runsSteps: command.runsSteps ?? false, joinsRegistry: (command.runsSteps ?? command.writesStore) === true });
    return await command.run(args, cli);
  } catch (error) {
    return report(error, command, out, cli);
  } finally {
    await cli?.close().catch((error: unknown) => out.note(`ephemera ${command.name}: could not close the store cleanly: ${messageOf(error)}`));
  }
}

function parse(command: Command, argv: string[]): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...command.options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as ParsedArgs["values"], positionals };
  } catch (error) {
    throw new UsageError(messageOf(error));
  }
}

function report(error: unknown, command: Command, out: Output, cli: CliContext | undefined): ExitCode {
  if (error instanceof UsageError) {
    out.note(`ephemera ${command.name}: ${error.message}\nRun 'ephemera ${command.name} --help' for its usage.`);
    return 2;
  }
  const problem = configProblem(error);
  if (problem !== undefined) {
    out.note(`ephemera: ${problem}`);
    return 1;
  }
  if (!(error instanceof CliFailure)) cli?.log.debug({ err: error }, "command failed");
  out.note(`ephemera ${command.name}: ${messageOf(error)}`);
  return 1;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
