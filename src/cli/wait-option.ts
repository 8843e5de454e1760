import { formatDuration } from "../config/duration.js";
import { durationArg } from "./args.js";
import { stringOption, type ParsedArgs } from "./command.js";
import { DEFAULT_WAIT_MS } from "./cli-reconciler.js";

/** `--wait <duration>`, shared by the commands that wait for another worker. */
export const WAIT_OPTION = { wait: { type: "string" } } as const;

export const WAIT_HELP = `  --wait <duration>  how long to wait for another worker that holds the environment
                     (the server, busy with it right now); default ${formatDuration(DEFAULT_WAIT_MS)}`;

export function waitMs(args: ParsedArgs): number {
  const text = stringOption(args, "wait");
  return text === undefined ? DEFAULT_WAIT_MS : durationArg(text, "--wait");
}
